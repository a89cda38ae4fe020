//! usdt_calls: counts the firings of a USDT probe by one of its string arguments, e.g.
//! Python's `python:function__entry` (filename, function, line) by function name. Also the
//! test program of the `Usdt` class and the USDT argument helpers of `aya_node_ebpf::usdt`.
#![no_std]
#![no_main]

use aya_ebpf::{
    helpers::{bpf_get_current_pid_tgid, bpf_probe_read_user_str_bytes},
    macros::{map, uprobe},
    maps::{HashMap, PerCpuArray, PerCpuHashMap},
    programs::ProbeContext,
};
use aya_node_ebpf::usdt::{spec, UsdtArgs, UsdtSpec};

/// Which argument is the string to count by.
#[unsafe(no_mangle)]
static STRING_ARG: u32 = 0;
/// Only this process (0 = all).
#[unsafe(no_mangle)]
static FILTER_PID: u32 = 0;

pub const NAME_LEN: usize = 64;

#[map]
static USDT_SPECS: HashMap<u32, UsdtSpec> = HashMap::with_max_entries(256, 0);
/// Firings by the string argument (NUL-padded), per CPU.
#[map]
static CALLS: PerCpuHashMap<[u8; NAME_LEN], u64> = PerCpuHashMap::with_max_entries(10240, 0);
/// Scratch for the key (too big for the stack next to the rest).
#[map]
static SCRATCH: PerCpuArray<[u8; NAME_LEN]> = PerCpuArray::with_max_entries(1, 0);

#[uprobe]
pub fn usdt_calls(ctx: ProbeContext) -> u32 {
    let filter = unsafe { core::ptr::read_volatile(&FILTER_PID) };
    if filter != 0 && (bpf_get_current_pid_tgid() >> 32) as u32 != filter {
        return 0;
    }
    let Some(spec) = spec(&ctx, &USDT_SPECS) else { return 0 };
    let index = unsafe { core::ptr::read_volatile(&STRING_ARG) } as usize;
    let Ok(ptr) = spec.arg(&ctx, index) else { return 0 };
    let Some(key) = SCRATCH.get_ptr_mut(0) else { return 0 };
    // Zeroed word by word (a plain `= [0; N]` becomes a memset the BPF target lacks).
    for i in 0..NAME_LEN / 8 {
        unsafe { core::ptr::write_volatile((key as *mut u64).add(i), 0) };
    }
    let buf = unsafe { &mut *key };
    if unsafe { bpf_probe_read_user_str_bytes(ptr as *const u8, buf) }.is_err() {
        return 0;
    }
    let key: &[u8; NAME_LEN] = unsafe { &*key };
    match CALLS.get_ptr_mut(key) {
        // This CPU's copy: a plain add is safe.
        Some(count) => unsafe { *count += 1 },
        None => {
            let _ = CALLS.insert(key, &1, 0);
        }
    }
    0
}

aya_node_ebpf::object_support!();

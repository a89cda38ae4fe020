//! usdt_args: the test program for the argument kinds of `aya_node_ebpf::usdt`. Each firing of
//! the probe sends one `TestEvent` per argument (tag = argument index, value = the argument as
//! the spec says: register or memory, sign- or zero-extended), then one with tag 99 and the
//! argument count and one with tag 98 and the caller's cookie (`Usdt.attach({ cookie })`).
#![no_std]
#![no_main]

use aya_ebpf::{
    macros::{map, uprobe},
    maps::{HashMap, RingBuf},
    programs::ProbeContext,
};
use aya_node_ebpf::{
    test_event::{current_tgid, emit},
    usdt::{spec, UsdtArgs, UsdtSpec},
};

/// Only this process (0 = all).
#[unsafe(no_mangle)]
static FILTER_PID: u32 = 0;

#[map]
static USDT_SPECS: HashMap<u32, UsdtSpec> = HashMap::with_max_entries(64, 0);
#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(64 * 1024, 0);

#[uprobe]
pub fn usdt_args(ctx: ProbeContext) -> u32 {
    let tgid = current_tgid();
    let filter = unsafe { core::ptr::read_volatile(&FILTER_PID) };
    if filter != 0 && filter != tgid {
        return 0;
    }
    let Some(spec) = spec(&ctx, &USDT_SPECS) else { return 0 };
    let count = spec.arg_count();
    for i in 0..3 {
        if i < count {
            if let Ok(value) = spec.arg(&ctx, i) {
                emit(&EVENTS, tgid, i as u32, value as i64);
            }
        }
    }
    emit(&EVENTS, tgid, 99, count as i64);
    emit(&EVENTS, tgid, 98, spec.user_cookie as i64);
    0
}

aya_node_ebpf::object_support!();

//! syscount: system call counts and total latency, per syscall number or per process, from
//! the `raw_syscalls` tracepoints. User space sums the per-CPU `STATS` each interval and clears it.
#![no_std]
#![no_main]

use aya_ebpf::{
    helpers::{bpf_get_current_pid_tgid, bpf_ktime_get_ns},
    macros::{map, tracepoint},
    maps::{HashMap, PerCpuHashMap},
    programs::TracePointContext,
};
use aya_node_common::histogram::SyscallStat;

/// Only this process (0 = all).
#[unsafe(no_mangle)]
static FILTER_PID: u32 = 0;
/// 1: key `STATS` by process id instead of syscall number.
#[unsafe(no_mangle)]
static BY_PROCESS: u32 = 0;

#[map]
static START: HashMap<u32, u64> = HashMap::with_max_entries(65536, 0);
#[map]
static STATS: PerCpuHashMap<u32, SyscallStat> = PerCpuHashMap::with_max_entries(4096, 0);

const ID_FIELD: usize = 8;

fn wanted(pid: u32) -> bool {
    let filter = unsafe { core::ptr::read_volatile(&FILTER_PID) };
    filter == 0 || filter == pid
}

#[tracepoint]
pub fn syscount_enter(_ctx: TracePointContext) -> u32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    if wanted((pid_tgid >> 32) as u32) {
        let _ = START.insert(&(pid_tgid as u32), &unsafe { bpf_ktime_get_ns() }, 0);
    }
    0
}

#[tracepoint]
pub fn syscount_exit(ctx: TracePointContext) -> u32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    let tid = pid_tgid as u32;
    let Some(start) = (unsafe { START.get(&tid) }).copied() else { return 0 };
    let _ = START.remove(&tid);
    let elapsed = unsafe { bpf_ktime_get_ns() }.saturating_sub(start);
    let key = if unsafe { core::ptr::read_volatile(&BY_PROCESS) } != 0 {
        (pid_tgid >> 32) as u32
    } else {
        match unsafe { ctx.read_at::<i64>(ID_FIELD) } {
            Ok(id) if id >= 0 => id as u32,
            _ => return 0,
        }
    };
    match STATS.get_ptr_mut(&key) {
        // Per-CPU values: no other CPU writes this copy, so plain adds are safe.
        Some(stat) => unsafe {
            (*stat).count += 1;
            (*stat).total_ns += elapsed;
        },
        None => {
            let _ = STATS.insert(&key, &SyscallStat { count: 1, total_ns: elapsed }, 0);
        }
    }
    0
}

aya_node_ebpf::object_support!("Dual MIT/GPL");

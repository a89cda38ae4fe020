//! syscount: system call counts and total latency, per syscall number or per process, from
//! the raw `sys_enter` / `sys_exit` tracepoints (no tracefs needed). User space sums the per-CPU `STATS` each interval and clears it.
#![no_std]
#![no_main]

use aya_ebpf::{
    helpers::{bpf_get_current_pid_tgid, bpf_ktime_get_ns, generated},
    macros::{map, raw_tracepoint},
    maps::{HashMap, PerCpuHashMap},
    programs::RawTracePointContext,
};
use aya_node_ebpf::syscall;
use aya_node_common::histogram::SyscallStat;

/// Only this process (0 = all).
#[unsafe(no_mangle)]
static FILTER_PID: u32 = 0;
/// 1: key `STATS` by process id instead of syscall number.
#[unsafe(no_mangle)]
static BY_PROCESS: u32 = 0;
/// 1 (with `BY_PROCESS` 0): also count per command name in `COMM_STATS`, in the same pass
/// (one pair of programs on every syscall instead of two). The comm is taken at the syscall,
/// so a process that execs is counted under each name it ran as.
#[unsafe(no_mangle)]
static ALSO_BY_COMM: u32 = 0;
/// 1: count at `sys_enter`, without timing (`total_ns` stays 0): user space then attaches only
/// `syscount_enter`, and no start time is kept per thread; about half the cost per syscall.
#[unsafe(no_mangle)]
static COUNT_ONLY: u32 = 0;

/// A syscall in progress: when it started and its number (`sys_exit` has no number of its own
/// that is the same on every architecture).
#[repr(C)]
#[derive(Clone, Copy)]
struct Start {
    ns: u64,
    id: i64,
}

#[map]
static START: HashMap<u32, Start> = HashMap::with_max_entries(65536, 0);
#[map]
static STATS: PerCpuHashMap<u32, SyscallStat> = PerCpuHashMap::with_max_entries(4096, 0);
#[map]
/// Keyed by the 16-byte comm (NUL-padded), held as two u64.
static COMM_STATS: PerCpuHashMap<[u64; 2], SyscallStat> = PerCpuHashMap::with_max_entries(8192, 0);

fn wanted(pid: u32) -> bool {
    let filter = unsafe { core::ptr::read_volatile(&FILTER_PID) };
    filter == 0 || filter == pid
}

#[raw_tracepoint(tracepoint = "sys_enter")]
pub fn syscount_enter(ctx: RawTracePointContext) -> i32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    let pid = (pid_tgid >> 32) as u32;
    if !wanted(pid) {
        return 0;
    }
    let id = syscall::enter_id(&ctx);
    if unsafe { core::ptr::read_volatile(&COUNT_ONLY) } != 0 {
        count(id, pid, 0);
    } else {
        let _ = START.insert(&(pid_tgid as u32), &Start { ns: unsafe { bpf_ktime_get_ns() }, id }, 0);
    }
    0
}

#[raw_tracepoint(tracepoint = "sys_exit")]
pub fn syscount_exit(_ctx: RawTracePointContext) -> i32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    let tid = pid_tgid as u32;
    let Some(start) = (unsafe { START.get(&tid) }).copied() else { return 0 };
    let _ = START.remove(&tid);
    let elapsed = unsafe { bpf_ktime_get_ns() }.saturating_sub(start.ns);
    count(start.id, (pid_tgid >> 32) as u32, elapsed);
    0
}

/// Adds one syscall `id` of process `pid` to the maps.
fn count(id: i64, pid: u32, elapsed: u64) {
    if unsafe { core::ptr::read_volatile(&BY_PROCESS) } != 0 {
        add(&STATS, pid, elapsed);
        return;
    }
    if id < 0 {
        return;
    }
    add(&STATS, id as u32, elapsed);
    if unsafe { core::ptr::read_volatile(&ALSO_BY_COMM) } != 0 {
        // The helper writes all 16 bytes (the name, NUL-padded): nothing to zero first.
        let mut comm = core::mem::MaybeUninit::<[u64; 2]>::uninit();
        if unsafe { generated::bpf_get_current_comm(comm.as_mut_ptr().cast(), 16) } == 0 {
            add(&COMM_STATS, unsafe { comm.assume_init() }, elapsed);
        }
    }
}

fn add<K>(stats: &PerCpuHashMap<K, SyscallStat>, key: K, elapsed: u64) {
    match stats.get_ptr_mut(&key) {
        // Per-CPU values: no other CPU writes this copy, so plain adds are safe.
        Some(stat) => unsafe {
            (*stat).count += 1;
            (*stat).total_ns += elapsed;
        },
        None => {
            let _ = stats.insert(&key, &SyscallStat { count: 1, total_ns: elapsed }, 0);
        }
    }
}

aya_node_ebpf::object_support!("Dual MIT/GPL");

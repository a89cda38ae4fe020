//! offcpu: time threads spend blocked, by stack. At the raw `sched_switch` tracepoint (no
//! tracefs needed) the thread leaving
//! the CPU (the current task) is blocked when its state is sleeping (S or D); its stacks and
//! the time are kept by thread id. When that thread is switched back in, the time it was away
//! is added to `COUNTS` under the stacks it blocked in (same key as the profile tool).
#![no_std]
#![no_main]

use aya_ebpf::{
    bindings::BPF_F_USER_STACK,
    helpers::{bpf_get_current_pid_tgid, bpf_ktime_get_ns, generated},
    macros::{map, raw_tracepoint},
    maps::{HashMap, PerCpuHashMap, StackTrace},
    programs::{tracing::StackIdContext, RawTracePointContext},
};
use aya_node_ebpf::kernel::field_at;
use aya_node_common::histogram::ProfileKey;

/// Only this process (0 = all).
#[unsafe(no_mangle)]
static FILTER_PID: u32 = 0;
/// Blocks shorter than this many nanoseconds are not counted (0 = all).
#[unsafe(no_mangle)]
static MIN_BLOCK_NS: u64 = 0;
/// Offsets of `pid` and `__state` in `struct task_struct` (from BTF).
#[unsafe(no_mangle)]
static TASK_PID_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static TASK_STATE_OFFSET: u32 = 0;

#[repr(C)]
#[derive(Clone, Copy)]
struct Blocked {
    since: u64,
    key: ProfileKey,
}

#[map]
static STACKS: StackTrace = StackTrace::with_max_entries(16384, 0);
/// Nanoseconds blocked, by (process, stacks, comm).
#[map]
static COUNTS: PerCpuHashMap<ProfileKey, u64> = PerCpuHashMap::with_max_entries(16384, 0);
/// Threads now blocked, by thread id.
#[map]
static BLOCKED: HashMap<u32, Blocked> = HashMap::with_max_entries(65536, 0);

/// TASK_INTERRUPTIBLE | TASK_UNINTERRUPTIBLE: the thread waits for something (not preempted).
const SLEEPING: i64 = 0x1 | 0x2;


// sched_switch(bool preempt, struct task_struct *prev, struct task_struct *next, ...): prev is
// the current task.
#[raw_tracepoint(tracepoint = "sched_switch")]
pub fn offcpu_switch(ctx: RawTracePointContext) -> i32 {
    let now = unsafe { bpf_ktime_get_ns() };
    let pid_tgid = bpf_get_current_pid_tgid();
    let (tgid, tid) = ((pid_tgid >> 32) as u32, pid_tgid as u32);
    let filter = unsafe { core::ptr::read_volatile(&FILTER_PID) };
    // Preempted is runnable, whatever the state says (as the tracepoint's `prev_state` reports it).
    let preempt: u64 = ctx.arg(0);
    let state = if preempt & 0xff != 0 { 0 } else { i64::from(field_at::<u32>(ctx.arg(1), &TASK_STATE_OFFSET).unwrap_or(0)) };
    if tgid != 0 && (filter == 0 || filter == tgid) && state & SLEEPING != 0 {
        let mut blocked = core::mem::MaybeUninit::<Blocked>::uninit();
        let b = blocked.as_mut_ptr();
        unsafe {
            (*b).since = now;
            (*b).key.pid = tgid;
            (*b).key._pad = 0;
            (*b).key.user_stack_id = ctx.get_stackid(&STACKS, BPF_F_USER_STACK as u64).map_or(-1, |id| id as i32);
            (*b).key.kernel_stack_id = ctx.get_stackid(&STACKS, 0).map_or(-1, |id| id as i32);
            generated::bpf_get_current_comm((*b).key.comm.as_mut_ptr().cast(), 16);
            let _ = BLOCKED.insert(&tid, &*b, 0);
        }
    }
    let Some(next) = field_at::<u32>(ctx.arg(2), &TASK_PID_OFFSET) else { return 0 };
    if let Some(b) = unsafe { BLOCKED.get(&next) }.copied() {
        let _ = BLOCKED.remove(&next);
        let delta = now.saturating_sub(b.since);
        if delta < unsafe { core::ptr::read_volatile(&MIN_BLOCK_NS) } {
            return 0;
        }
        match COUNTS.get_ptr_mut(&b.key) {
            Some(total) => unsafe { *total += delta },
            None => {
                let _ = COUNTS.insert(&b.key, &delta, 0);
            }
        }
    }
    0
}

aya_node_ebpf::object_support!("Dual MIT/GPL");

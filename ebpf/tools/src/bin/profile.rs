//! profile: on-CPU stack sampling. A perf-event program (software CPU clock, one per CPU)
//! counts samples per (pid, user stack, kernel stack, comm) in a per-CPU hash that user space
//! sums; stacks live in `STACKS`.
#![no_std]
#![no_main]

use aya_ebpf::{
    bindings::BPF_F_USER_STACK,
    helpers::{bpf_get_current_pid_tgid, generated},
    macros::{map, perf_event},
    maps::{PerCpuHashMap, StackTrace},
    programs::{tracing::StackIdContext, PerfEventContext},
};
use aya_node_common::histogram::ProfileKey;

/// Only this process (0 = all).
#[unsafe(no_mangle)]
static FILTER_PID: u32 = 0;

#[map]
static STACKS: StackTrace = StackTrace::with_max_entries(16384, 0);
#[map]
static COUNTS: PerCpuHashMap<ProfileKey, u64> = PerCpuHashMap::with_max_entries(16384, 0);

#[perf_event]
pub fn profile(ctx: PerfEventContext) -> u32 {
    let pid = (bpf_get_current_pid_tgid() >> 32) as u32;
    let filter = unsafe { core::ptr::read_volatile(&FILTER_PID) };
    if pid == 0 || (filter != 0 && filter != pid) {
        return 0; // idle, or not the process asked for
    }
    let mut key = core::mem::MaybeUninit::<ProfileKey>::uninit();
    let k = key.as_mut_ptr();
    unsafe {
        (*k).pid = pid;
        (*k)._pad = 0;
        (*k).user_stack_id = ctx.get_stackid(&STACKS, BPF_F_USER_STACK as u64).map_or(-1, |id| id as i32);
        (*k).kernel_stack_id = ctx.get_stackid(&STACKS, 0).map_or(-1, |id| id as i32);
        generated::bpf_get_current_comm((*k).comm.as_mut_ptr().cast(), 16);
        match COUNTS.get_ptr_mut(&*k) {
            Some(count) => *count += 1,
            None => {
                let _ = COUNTS.insert(&*k, &1, 0);
            }
        }
    }
    0
}

aya_node_ebpf::object_support!("Dual MIT/GPL");

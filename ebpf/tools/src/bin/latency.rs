//! Latency histograms (power-of-two buckets of microseconds) for the biolatency and runqlat
//! tools: block I/O from issue to completion, and scheduler run-queue wait from wake-up (or
//! preemption) to running. Each histogram is a `PerCpuArray<u64>` of 64 buckets that user
//! space sums over CPUs, with the sum of the latencies (in nanoseconds) in a one-slot
//! `PerCpuArray<u64>` beside it (a Prometheus histogram needs `_sum`). Raw tracepoints, so no
//! tracefs is needed: their arguments are the kernel's (a `struct request *`, `task_struct *`s),
//! read at offsets user space finds in BTF.
#![no_std]
#![no_main]

use aya_ebpf::{
    helpers::{bpf_ktime_get_ns},
    macros::{map, raw_tracepoint},
    maps::{HashMap, PerCpuArray},
    programs::RawTracePointContext,
};
use aya_node_ebpf::kernel::field_at;
use aya_node_common::histogram::{log2_bucket, HISTOGRAM_BUCKETS};

/// runqlat: only this process (0 = all).
#[unsafe(no_mangle)]
static FILTER_PID: u32 = 0;
/// Offsets of `pid` and `__state` in `struct task_struct` (from BTF).
#[unsafe(no_mangle)]
static TASK_PID_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static TASK_STATE_OFFSET: u32 = 0;

#[map]
static BIO_HIST: PerCpuArray<u64> = PerCpuArray::with_max_entries(HISTOGRAM_BUCKETS as u32, 0);
#[map]
static RUNQ_HIST: PerCpuArray<u64> = PerCpuArray::with_max_entries(HISTOGRAM_BUCKETS as u32, 0);
/// Sum of the latencies recorded in `BIO_HIST` / `RUNQ_HIST`, in nanoseconds.
#[map]
static BIO_SUM: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);
#[map]
static RUNQ_SUM: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);
/// Issue time of in-flight requests, by their `struct request` address.
#[map]
static BIO_START: HashMap<u64, u64> = HashMap::with_max_entries(65536, 0);
/// Enqueue time of runnable tasks, by pid.
#[map]
static RUNQ_START: HashMap<u32, u64> = HashMap::with_max_entries(65536, 0);

fn record(hist: &PerCpuArray<u64>, sum: &PerCpuArray<u64>, start: u64) {
    let nanos = unsafe { bpf_ktime_get_ns() }.saturating_sub(start);
    let bucket = log2_bucket(nanos / 1000).min(HISTOGRAM_BUCKETS as u32 - 1);
    if let Some(slot) = hist.get_ptr_mut(bucket) {
        // This CPU's copy of the bucket: a plain add is safe.
        unsafe { *slot += 1 };
    }
    if let Some(total) = sum.get_ptr_mut(0) {
        unsafe { *total += nanos };
    }
}

// block_rq_issue(struct request *rq), block_rq_complete(struct request *rq, ...).
#[raw_tracepoint(tracepoint = "block_rq_issue")]
pub fn bio_issue(ctx: RawTracePointContext) -> i32 {
    let key: u64 = ctx.arg(0);
    let _ = BIO_START.insert(&key, &unsafe { bpf_ktime_get_ns() }, 0);
    0
}

#[raw_tracepoint(tracepoint = "block_rq_complete")]
pub fn bio_complete(ctx: RawTracePointContext) -> i32 {
    let key: u64 = ctx.arg(0);
    if let Some(start) = unsafe { BIO_START.get(&key) }.copied() {
        record(&BIO_HIST, &BIO_SUM, start);
        let _ = BIO_START.remove(&key);
    }
    0
}

fn enqueue(pid: i32) {
    let filter = unsafe { core::ptr::read_volatile(&FILTER_PID) };
    if pid > 0 && (filter == 0 || filter == pid as u32) {
        let _ = RUNQ_START.insert(&(pid as u32), &unsafe { bpf_ktime_get_ns() }, 0);
    }
}


// sched_wakeup(struct task_struct *p), sched_wakeup_new(p).
#[raw_tracepoint(tracepoint = "sched_wakeup")]
pub fn runq_wakeup(ctx: RawTracePointContext) -> i32 {
    if let Some(pid) = field_at::<u32>(ctx.arg(0), &TASK_PID_OFFSET) {
        enqueue(pid as i32);
    }
    0
}

// sched_switch(bool preempt, struct task_struct *prev, struct task_struct *next, ...).
#[raw_tracepoint(tracepoint = "sched_switch")]
pub fn runq_switch(ctx: RawTracePointContext) -> i32 {
    let preempt: u64 = ctx.arg(0);
    let prev: u64 = ctx.arg(1);
    // A task preempted, or leaving while still runnable (state 0), goes straight back to the run queue.
    if preempt & 0xff != 0 || field_at::<u32>(prev, &TASK_STATE_OFFSET) == Some(0) {
        if let Some(pid) = field_at::<u32>(prev, &TASK_PID_OFFSET) {
            enqueue(pid as i32);
        }
    }
    if let Some(next) = field_at::<u32>(ctx.arg(2), &TASK_PID_OFFSET) {
        if let Some(start) = unsafe { RUNQ_START.get(&next) }.copied() {
            record(&RUNQ_HIST, &RUNQ_SUM, start);
            let _ = RUNQ_START.remove(&next);
        }
    }
    0
}

aya_node_ebpf::object_support!("Dual MIT/GPL");

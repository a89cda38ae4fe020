//! Latency histograms (power-of-two buckets of microseconds) for the biolatency and runqlat
//! tools: block I/O from issue to completion, and scheduler run-queue wait from wake-up (or
//! preemption) to running. Each histogram is a `PerCpuArray<u64>` of 64 buckets that user
//! space sums over CPUs, with the sum of the latencies (in nanoseconds) in a one-slot
//! `PerCpuArray<u64>` beside it (a Prometheus histogram needs `_sum`).
#![no_std]
#![no_main]

use aya_ebpf::{
    helpers::bpf_ktime_get_ns,
    macros::{map, tracepoint},
    maps::{HashMap, PerCpuArray},
    programs::TracePointContext,
};
use aya_node_common::histogram::{log2_bucket, HISTOGRAM_BUCKETS};

/// runqlat: only this process (0 = all).
#[unsafe(no_mangle)]
static FILTER_PID: u32 = 0;

#[map]
static BIO_HIST: PerCpuArray<u64> = PerCpuArray::with_max_entries(HISTOGRAM_BUCKETS as u32, 0);
#[map]
static RUNQ_HIST: PerCpuArray<u64> = PerCpuArray::with_max_entries(HISTOGRAM_BUCKETS as u32, 0);
/// Sum of the latencies recorded in `BIO_HIST` / `RUNQ_HIST`, in nanoseconds.
#[map]
static BIO_SUM: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);
#[map]
static RUNQ_SUM: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);
/// Issue time of in-flight requests, by (dev << 48) ^ sector.
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

// block_rq_issue / block_rq_complete: dev at 8, sector at 16.
fn request_key(ctx: &TracePointContext) -> Option<u64> {
    let dev: u32 = unsafe { ctx.read_at(8) }.ok()?;
    let sector: u64 = unsafe { ctx.read_at(16) }.ok()?;
    Some((u64::from(dev) << 48) ^ sector)
}

#[tracepoint]
pub fn bio_issue(ctx: TracePointContext) -> u32 {
    if let Some(key) = request_key(&ctx) {
        let _ = BIO_START.insert(&key, &unsafe { bpf_ktime_get_ns() }, 0);
    }
    0
}

#[tracepoint]
pub fn bio_complete(ctx: TracePointContext) -> u32 {
    let Some(key) = request_key(&ctx) else { return 0 };
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

// sched_wakeup / sched_wakeup_new: pid at 24.
#[tracepoint]
pub fn runq_wakeup(ctx: TracePointContext) -> u32 {
    if let Ok(pid) = unsafe { ctx.read_at::<i32>(24) } {
        enqueue(pid);
    }
    0
}

// sched_switch: prev_pid at 24, prev_state at 32, next_pid at 56.
#[tracepoint]
pub fn runq_switch(ctx: TracePointContext) -> u32 {
    // A task preempted while runnable (state 0) goes straight back to the run queue.
    if let (Ok(prev), Ok(0)) = (unsafe { ctx.read_at::<i32>(24) }, unsafe { ctx.read_at::<i64>(32) }) {
        enqueue(prev);
    }
    if let Ok(next) = unsafe { ctx.read_at::<i32>(56) } {
        let key = next as u32;
        if let Some(start) = unsafe { RUNQ_START.get(&key) }.copied() {
            record(&RUNQ_HIST, &RUNQ_SUM, start);
            let _ = RUNQ_START.remove(&key);
        }
    }
    0
}

aya_node_ebpf::object_support!("Dual MIT/GPL");

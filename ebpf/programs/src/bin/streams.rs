//! Producers for the event-stream tests: on every `execve`, each program emits one event
//! through a different channel (ring buffer with drop counting, perf event array, aya-log,
//! bpf_printk).
#![no_std]
#![no_main]

use aya_ebpf::{
    helpers::{bpf_get_current_pid_tgid, bpf_get_smp_processor_id},
    macros::{map, tracepoint},
    maps::{PerCpuArray, PerfEventArray, RingBuf},
    programs::TracePointContext,
};
use aya_log_ebpf::info;
use aya_node_common::streams::{SeqEvent16, SeqEvent256};
use aya_node_ebpf::ring::reserve_or_count_drop;

#[map]
static RING: RingBuf = RingBuf::with_byte_size(64 * 1024, 0);
#[map]
static RING_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);
#[map]
static PERF: PerfEventArray<SeqEvent16> = PerfEventArray::new(0);

fn tgid() -> u32 {
    (bpf_get_current_pid_tgid() >> 32) as u32
}

/// Writes a 256-byte event (so a small ring fills quickly), counting drops when full.
#[tracepoint]
pub fn ring_on_exec(_ctx: TracePointContext) -> u32 {
    if let Some(mut entry) = reserve_or_count_drop::<SeqEvent256>(&RING, &RING_DROPS) {
        let event = entry.as_mut_ptr();
        unsafe {
            (*event).seq = 0;
            (*event).pid = tgid();
            (*event).cpu = bpf_get_smp_processor_id();
        }
        entry.submit(0);
    }
    0
}

#[tracepoint]
pub fn perf_on_exec(ctx: TracePointContext) -> u32 {
    let event = SeqEvent16 { seq: 0, pid: tgid(), cpu: unsafe { bpf_get_smp_processor_id() }, pad: [] };
    PERF.output(&ctx, &event, 0);
    0
}

#[tracepoint]
pub fn log_on_exec(ctx: TracePointContext) -> u32 {
    let pid = tgid();
    info!(&ctx, "exec by pid {} on cpu {}", pid, unsafe { bpf_get_smp_processor_id() });
    0
}

#[tracepoint]
pub fn printk_on_exec(_ctx: TracePointContext) -> u32 {
    let pid = tgid();
    unsafe { aya_ebpf::bpf_printk!(c"aya-node exec pid=%u", pid) };
    0
}

aya_node_ebpf::object_support!("Dual MIT/GPL");

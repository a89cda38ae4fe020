//! perf_event: one event per sample, with the CPU it was taken on.
#![no_std]
#![no_main]

use aya_ebpf::{helpers::bpf_get_smp_processor_id, macros::{map, perf_event}, maps::RingBuf, programs::PerfEventContext};
use aya_node_ebpf::test_event::{current_tgid, emit};

#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(256 * 1024, 0);

#[perf_event]
pub fn on_sample(_ctx: PerfEventContext) -> u32 {
    let cpu = unsafe { bpf_get_smp_processor_id() };
    emit(&EVENTS, current_tgid(), 0, cpu as i64);
    0
}

aya_node_ebpf::object_support!();

//! Socket-filter producers for stream tests and benchmarks, driven by BPF_PROG_TEST_RUN
//! (a socket filter's test run has no fixed per-call cost, unlike XDP's). Each run emits one
//! `SeqEvent` of 16, 64 or 256 bytes with the next sequence number.
#![no_std]
#![no_main]

use aya_ebpf::{
    helpers::{bpf_get_current_pid_tgid, bpf_get_smp_processor_id},
    macros::{map, socket_filter},
    maps::{Array, PerCpuArray, PerfEventArray, RingBuf},
    programs::SkBuffContext,
};
use aya_node_common::streams::{SeqEvent, SeqEvent16, SeqEvent256, SeqEvent64};
use aya_node_ebpf::ring::reserve_or_count_drop;

#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(16 * 1024 * 1024, 0);
#[map]
static DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);
#[map]
static PERF_EVENTS: PerfEventArray<SeqEvent16> = PerfEventArray::new(0);
/// The next sequence number. Test runs of one caller are sequential, so a plain increment
/// is enough; concurrent producers would need an atomic add.
#[map]
static NEXT_SEQ: Array<u64> = Array::with_max_entries(1, 0);

#[inline(always)]
fn next_seq() -> u64 {
    match NEXT_SEQ.get_ptr_mut(0) {
        Some(slot) => unsafe {
            let seq = *slot;
            *slot = seq + 1;
            seq
        },
        None => 0,
    }
}

#[inline(always)]
fn produce<const PAD: usize>() -> i64 {
    let seq = next_seq();
    if let Some(mut entry) = reserve_or_count_drop::<SeqEvent<PAD>>(&EVENTS, &DROPS) {
        let event = entry.as_mut_ptr();
        unsafe {
            (*event).seq = seq;
            (*event).pid = (bpf_get_current_pid_tgid() >> 32) as u32;
            (*event).cpu = bpf_get_smp_processor_id();
        }
        entry.submit(0);
    }
    0
}

#[socket_filter]
pub fn produce16(_ctx: SkBuffContext) -> i64 {
    produce::<0>()
}

#[socket_filter]
pub fn produce64(_ctx: SkBuffContext) -> i64 {
    produce::<48>()
}

#[socket_filter]
pub fn produce256(_ctx: SkBuffContext) -> i64 {
    produce::<240>()
}

#[socket_filter]
pub fn produce_perf(ctx: SkBuffContext) -> i64 {
    let event = SeqEvent16 {
        seq: next_seq(),
        pid: (bpf_get_current_pid_tgid() >> 32) as u32,
        cpu: unsafe { bpf_get_smp_processor_id() },
        pad: [],
    };
    PERF_EVENTS.output(&ctx, &event, 0);
    0
}

// Type-check the aliases the user-space codecs mirror.
const _: () = assert!(size_of::<SeqEvent16>() == 16 && size_of::<SeqEvent64>() == 64 && size_of::<SeqEvent256>() == 256);

aya_node_ebpf::object_support!("Dual MIT/GPL");

//! kprobe/kretprobe: report the first argument at entry (tag 1) and the return value at exit
//! (tag 2) of the kernel function they are attached to. Needs CONFIG_KPROBES.
#![no_std]
#![no_main]

use aya_ebpf::{
    macros::{kprobe, kretprobe, map},
    maps::RingBuf,
    programs::{ProbeContext, RetProbeContext},
};
use aya_node_ebpf::test_event::{current_tgid, emit};

#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(64 * 1024, 0);

#[kprobe]
pub fn kernel_function_entry(ctx: ProbeContext) -> u32 {
    let first: i64 = ctx.arg(0).unwrap_or(0);
    emit(&EVENTS, current_tgid(), 1, first);
    0
}

#[kretprobe]
pub fn kernel_function_return(ctx: RetProbeContext) -> u32 {
    let ret: i64 = ctx.ret();
    emit(&EVENTS, current_tgid(), 2, ret);
    0
}

aya_node_ebpf::object_support!();

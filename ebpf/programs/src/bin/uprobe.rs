//! uprobe/uretprobe: report the first argument at entry (tag 1) and the return value at exit
//! (tag 2) of whatever user-space function they are attached to.
#![no_std]
#![no_main]

use aya_ebpf::{
    macros::{map, uprobe, uretprobe},
    maps::RingBuf,
    programs::{ProbeContext, RetProbeContext},
};
use aya_node_ebpf::test_event::{current_tgid, emit};

#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(64 * 1024, 0);

#[uprobe]
pub fn function_entry(ctx: ProbeContext) -> u32 {
    let first: i64 = ctx.arg(0).unwrap_or(0);
    emit(&EVENTS, current_tgid(), 1, first);
    0
}

#[uretprobe]
pub fn function_return(ctx: RetProbeContext) -> u32 {
    let ret: i64 = ctx.ret();
    emit(&EVENTS, current_tgid(), 2, ret);
    0
}

aya_node_ebpf::object_support!();

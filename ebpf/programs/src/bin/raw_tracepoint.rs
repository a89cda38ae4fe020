//! raw_tracepoint: on `sys_enter`, reports the syscall number of every syscall that the process
//! `TARGET_TGID` makes with number `TARGET_SYSCALL`.
#![no_std]
#![no_main]

use aya_ebpf::{macros::{map, raw_tracepoint}, maps::RingBuf, programs::RawTracePointContext};
use aya_node_ebpf::test_event::{current_tgid, emit};

#[unsafe(no_mangle)]
static TARGET_TGID: u32 = 0;
#[unsafe(no_mangle)]
static TARGET_SYSCALL: u64 = 0;

#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(64 * 1024, 0);

#[raw_tracepoint(tracepoint = "sys_enter")]
pub fn raw_sys_enter(ctx: RawTracePointContext) -> i32 {
    // sys_enter(struct pt_regs *regs, long id)
    let id: u64 = ctx.arg(1);
    let tgid = current_tgid();
    unsafe {
        if tgid == core::ptr::read_volatile(&TARGET_TGID) && id == core::ptr::read_volatile(&TARGET_SYSCALL) {
            emit(&EVENTS, tgid, 0, id as i64);
        }
    }
    0
}

aya_node_ebpf::object_support!();

//! fentry/fexit on `do_sys_openat2(int dfd, const char *filename, struct open_how *how)`:
//! for the process `TARGET_TGID`, the entry reports `dfd` (tag 1) and the exit reports the
//! returned fd or -errno (tag 2).
#![no_std]
#![no_main]

use aya_ebpf::{
    macros::{fentry, fexit, map},
    maps::RingBuf,
    programs::{FEntryContext, FExitContext},
};
use aya_node_ebpf::test_event::{current_tgid, emit};

#[unsafe(no_mangle)]
static TARGET_TGID: u32 = 0;

#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(64 * 1024, 0);

fn is_target(tgid: u32) -> bool {
    tgid == unsafe { core::ptr::read_volatile(&TARGET_TGID) }
}

#[fentry(function = "do_sys_openat2")]
pub fn openat_entry(ctx: FEntryContext) -> i32 {
    let tgid = current_tgid();
    if is_target(tgid) {
        let dfd: i32 = ctx.arg(0);
        emit(&EVENTS, tgid, 1, dfd as i64);
    }
    0
}

#[fexit(function = "do_sys_openat2")]
pub fn openat_exit(ctx: FExitContext) -> i32 {
    let tgid = current_tgid();
    if is_target(tgid) {
        // fexit sees the arguments and then the return value: (dfd, filename, how, ret).
        let ret: i64 = ctx.arg(3);
        emit(&EVENTS, tgid, 2, ret);
    }
    0
}

aya_node_ebpf::object_support!();

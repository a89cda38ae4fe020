//! Socket filter: drops datagrams of `MAX_LEN` bytes or more (as the filter sees them) and keeps
//! the others whole, reporting each drop with its length.
#![no_std]
#![no_main]

use aya_ebpf::{macros::{map, socket_filter}, maps::RingBuf, programs::SkBuffContext};
use aya_node_ebpf::test_event::emit;

#[unsafe(no_mangle)]
static MAX_LEN: u32 = 0;

#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(64 * 1024, 0);

#[socket_filter]
pub fn drop_long_datagrams(ctx: SkBuffContext) -> i64 {
    let len = ctx.len();
    if len >= unsafe { core::ptr::read_volatile(&MAX_LEN) } {
        emit(&EVENTS, 0, 0, len as i64);
        return 0; // keep 0 bytes: drop
    }
    len as i64
}

aya_node_ebpf::object_support!();

//! sk_lookup: decides which socket receives a new connection or datagram in the network
//! namespace it is attached to. Lookups for local port `DROP_PORT` are refused (a TCP connect
//! gets ECONNREFUSED); those for `STEER_PORT` go to the socket stored at index 0 of `SOCKETS`,
//! whatever port it listens on. Each decision is reported (tag 1 dropped, 2 steered).
#![no_std]
#![no_main]

use aya_ebpf::{
    macros::{map, sk_lookup},
    maps::{RingBuf, SockMap},
    programs::SkLookupContext,
};
use aya_node_ebpf::test_event::emit;

#[unsafe(no_mangle)]
static DROP_PORT: u16 = 0;
#[unsafe(no_mangle)]
static STEER_PORT: u16 = 0;

#[map]
static SOCKETS: SockMap = SockMap::with_max_entries(1, 0);

#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(64 * 1024, 0);

const SK_DROP: u32 = 0;
const SK_PASS: u32 = 1;

#[sk_lookup]
pub fn steer_or_drop(ctx: SkLookupContext) -> u32 {
    // local_port is in host byte order.
    let port = unsafe { (*ctx.lookup).local_port } as u16;
    if port == unsafe { core::ptr::read_volatile(&DROP_PORT) } {
        emit(&EVENTS, 0, 1, port as i64);
        return SK_DROP;
    }
    if port == unsafe { core::ptr::read_volatile(&STEER_PORT) } && SOCKETS.redirect_sk_lookup(&ctx, 0, 0).is_ok() {
        emit(&EVENTS, 0, 2, port as i64);
    }
    SK_PASS
}

aya_node_ebpf::object_support!();

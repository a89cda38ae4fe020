//! TC classifier: drops IPv4 UDP packets to port `DROP_PORT`, reporting each drop; passes
//! everything else. Works on ingress and egress, through TCX or a clsact qdisc.
#![no_std]
#![no_main]

use aya_ebpf::{bindings::{TC_ACT_OK, TC_ACT_SHOT}, macros::{classifier, map}, maps::RingBuf, programs::TcContext};
use aya_node_ebpf::{packet::udp_dst_port_eth, test_event::emit};

#[unsafe(no_mangle)]
static DROP_PORT: u16 = 0;

#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(64 * 1024, 0);

#[classifier]
pub fn tc_drop_udp(ctx: TcContext) -> i32 {
    let drop_port = unsafe { core::ptr::read_volatile(&DROP_PORT) };
    match udp_dst_port_eth(ctx.data(), ctx.data_end()) {
        Some(port) if port == drop_port => {
            emit(&EVENTS, 0, 0, port as i64);
            TC_ACT_SHOT
        }
        _ => TC_ACT_OK,
    }
}

aya_node_ebpf::object_support!();

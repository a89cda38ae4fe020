//! XDP: drops IPv4 UDP packets to port `DROP_PORT`, reporting each drop; passes everything else.
#![no_std]
#![no_main]

use aya_ebpf::{bindings::xdp_action, macros::{map, xdp}, maps::RingBuf, programs::XdpContext};
use aya_node_ebpf::{packet::udp_dst_port_eth, test_event::emit};

#[unsafe(no_mangle)]
static DROP_PORT: u16 = 0;

#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(64 * 1024, 0);

#[xdp]
pub fn xdp_drop_udp(ctx: XdpContext) -> u32 {
    let drop_port = unsafe { core::ptr::read_volatile(&DROP_PORT) };
    match udp_dst_port_eth(ctx.data(), ctx.data_end()) {
        Some(port) if port == drop_port => {
            emit(&EVENTS, 0, 0, port as i64);
            xdp_action::XDP_DROP
        }
        _ => xdp_action::XDP_PASS,
    }
}

aya_node_ebpf::object_support!();

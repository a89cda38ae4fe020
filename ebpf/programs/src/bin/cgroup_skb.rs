//! cgroup_skb: denies IPv4 UDP packets to port `DROP_PORT` sent or received by processes of the
//! cgroup, reporting each one; allows everything else.
#![no_std]
#![no_main]

use aya_ebpf::{macros::{cgroup_skb, map}, maps::RingBuf, programs::SkBuffContext};
use aya_node_ebpf::{packet::IPPROTO_UDP, test_event::emit};

#[unsafe(no_mangle)]
static DROP_PORT: u16 = 0;

#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(64 * 1024, 0);

const ALLOW: i32 = 1;
const DENY: i32 = 0;

/// The UDP destination port; a cgroup_skb program sees the packet from its IP header on.
fn udp_dst_port(ctx: &SkBuffContext) -> Option<u16> {
    let version_ihl: u8 = ctx.load(0).ok()?;
    if version_ihl >> 4 != 4 || ctx.load::<u8>(9).ok()? != IPPROTO_UDP {
        return None;
    }
    let udp = ((version_ihl & 0x0f) as usize) * 4;
    Some(u16::from_be(ctx.load::<u16>(udp + 2).ok()?))
}

#[cgroup_skb]
pub fn deny_udp_port(ctx: SkBuffContext) -> i32 {
    let drop_port = unsafe { core::ptr::read_volatile(&DROP_PORT) };
    match udp_dst_port(&ctx) {
        Some(port) if port == drop_port => {
            emit(&EVENTS, 0, 0, port as i64);
            DENY
        }
        _ => ALLOW,
    }
}

aya_node_ebpf::object_support!();

//! cgroup_sock (sock_create): refuses processes of the cgroup the creation of IPv4 UDP sockets
//! (`socket()` fails with EPERM), reporting each one; other sockets are allowed.
#![no_std]
#![no_main]

use aya_ebpf::{
    macros::{cgroup_sock, map},
    maps::RingBuf,
    programs::SockContext,
};
use aya_node_ebpf::test_event::{current_tgid, emit};

#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(64 * 1024, 0);

const AF_INET: u32 = 2;
const SOCK_DGRAM: u32 = 2;
const IPPROTO_UDP: u32 = 17;

#[cgroup_sock(sock_create)]
pub fn deny_udp4_sockets(ctx: SockContext) -> i32 {
    let sock = unsafe { &*ctx.sock };
    if sock.family == AF_INET && sock.type_ == SOCK_DGRAM && sock.protocol == IPPROTO_UDP {
        emit(&EVENTS, current_tgid(), 0, sock.protocol as i64);
        return 0;
    }
    1
}

aya_node_ebpf::object_support!();

//! cgroup_sock_addr (connect4): refuses IPv4 `connect()` to port `DENY_PORT` from processes of
//! the cgroup (the caller gets EPERM), reporting each one; allows everything else.
#![no_std]
#![no_main]

use aya_ebpf::{macros::{cgroup_sock_addr, map}, maps::RingBuf, programs::SockAddrContext};
use aya_node_ebpf::test_event::{current_tgid, emit};

#[unsafe(no_mangle)]
static DENY_PORT: u16 = 0;

#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(64 * 1024, 0);

#[cgroup_sock_addr(connect4)]
pub fn deny_connect4(ctx: SockAddrContext) -> i32 {
    // user_port holds the port in network byte order in its low 16 bits.
    let port = u16::from_be(unsafe { (*ctx.sock_addr).user_port } as u16);
    if port == unsafe { core::ptr::read_volatile(&DENY_PORT) } {
        emit(&EVENTS, current_tgid(), 0, port as i64);
        return 0;
    }
    1
}

aya_node_ebpf::object_support!();

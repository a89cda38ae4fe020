//! cgroup_sockopt (setsockopt): refuses processes of the cgroup setting SO_BROADCAST (the
//! caller gets EPERM), reporting each attempt; every other option is passed to the kernel.
#![no_std]
#![no_main]

use aya_ebpf::{
    macros::{cgroup_sockopt, map},
    maps::RingBuf,
    programs::SockoptContext,
};
use aya_node_ebpf::test_event::{current_tgid, emit};

#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(64 * 1024, 0);

const SOL_SOCKET: i32 = 1;
const SO_BROADCAST: i32 = 6;

#[cgroup_sockopt(setsockopt)]
pub fn deny_so_broadcast(ctx: SockoptContext) -> i32 {
    let sockopt = unsafe { &*ctx.sockopt };
    if sockopt.level == SOL_SOCKET && sockopt.optname == SO_BROADCAST {
        emit(&EVENTS, current_tgid(), 0, sockopt.optname as i64);
        return 0;
    }
    1
}

aya_node_ebpf::object_support!();

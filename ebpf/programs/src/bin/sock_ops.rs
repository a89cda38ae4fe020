//! sock_ops: called on TCP events of the sockets of a cgroup (v2). Counts connections
//! established actively (connect) and passively (accept), and records the server's port.
#![no_std]
#![no_main]

use aya_ebpf::{
    bindings::{BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB, BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB},
    macros::{map, sock_ops},
    maps::Array,
    programs::SockOpsContext,
};

/// 0: active established, 1: passive established, 2: local port of the last passive one.
#[map]
static STATS: Array<u64> = Array::with_max_entries(4, 0);

fn add(index: u32, n: u64) {
    if let Some(slot) = STATS.get_ptr_mut(index) {
        // Not atomic (core has no atomic add for the BPF target): exact for one sender at a time.
        unsafe { *slot += n };
    }
}

#[sock_ops]
pub fn count_established(ctx: SockOpsContext) -> u32 {
    match ctx.op() {
        BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB => add(0, 1),
        BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB => {
            add(1, 1);
            if let Some(slot) = STATS.get_ptr_mut(2) {
                // local_port is in host byte order.
                unsafe { *slot = ctx.local_port() as u64 };
            }
        }
        _ => {}
    }
    1
}

aya_node_ebpf::object_support!();

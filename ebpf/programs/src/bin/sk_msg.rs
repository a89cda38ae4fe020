//! sk_msg: runs on each sendmsg() of a socket in the map it is attached to. Counts messages and
//! bytes, and refuses (SK_DROP: the sender gets EACCES) messages that start with `DROP`.
#![no_std]
#![no_main]

use aya_ebpf::{
    bindings::sk_action,
    macros::{map, sk_msg},
    maps::{Array, SockHash, SockMap},
    programs::SkMsgContext,
};

/// Sockets whose sends the program sees (by index).
#[map]
static SOCKETS: SockMap = SockMap::with_max_entries(8, 0);

/// The same, by a key of the user's choice.
#[map]
static SOCKET_HASH: SockHash<u32> = SockHash::with_max_entries(8, 0);

/// 0: messages seen, 1: bytes seen, 2: messages dropped.
#[map]
static STATS: Array<u64> = Array::with_max_entries(4, 0);

fn add(index: u32, n: u64) {
    if let Some(slot) = STATS.get_ptr_mut(index) {
        // Not atomic (core has no atomic add for the BPF target): exact for one sender at a time.
        unsafe { *slot += n };
    }
}

#[sk_msg]
pub fn count_and_drop(ctx: SkMsgContext) -> u32 {
    add(0, 1);
    add(1, ctx.size() as u64);
    let (data, end) = (ctx.data(), ctx.data_end());
    if data + 4 <= end {
        let head = unsafe { *(data as *const [u8; 4]) };
        if head == *b"DROP" {
            add(2, 1);
            return sk_action::SK_DROP;
        }
    }
    sk_action::SK_PASS
}

aya_node_ebpf::object_support!();

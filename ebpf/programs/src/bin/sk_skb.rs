//! sk_skb: a stream parser that takes each received skb as one message, and a stream verdict
//! that drops data starting with `DROP`, sends data starting with `FWD:` out of the socket at
//! index 1 of `SOCKETS`, and lets the rest through to the receiving socket.
#![no_std]
#![no_main]

use aya_ebpf::{
    bindings::sk_action,
    macros::{map, stream_parser, stream_verdict},
    maps::{Array, SockMap},
    programs::SkBuffContext,
};

/// The sockets whose received data the programs see; index 1 is the redirect target.
#[map]
static SOCKETS: SockMap = SockMap::with_max_entries(8, 0);

/// 0: passed, 1: dropped, 2: redirected, 3: parser runs, 4: bytes the verdict saw.
#[map]
static STATS: Array<u64> = Array::with_max_entries(8, 0);

/// Index in `SOCKETS` of the socket that `FWD:` data leaves from.
const FORWARD_TO: u32 = 1;

fn add(index: u32, n: u64) {
    if let Some(slot) = STATS.get_ptr_mut(index) {
        // Not atomic (core has no atomic add for the BPF target): exact for one sender at a time.
        unsafe { *slot += n };
    }
}

#[stream_parser]
pub fn whole_skb(ctx: SkBuffContext) -> u32 {
    add(3, 1);
    ctx.len()
}

#[stream_verdict]
pub fn drop_or_forward(ctx: SkBuffContext) -> u32 {
    add(4, ctx.len() as u64);
    let head: [u8; 4] = ctx.load(0).unwrap_or([0; 4]);
    if head == *b"DROP" {
        add(1, 1);
        return sk_action::SK_DROP;
    }
    if head == *b"FWD:" {
        add(2, 1);
        // Egress of the target socket (flags 0): its peer receives the data.
        return unsafe { SOCKETS.redirect_skb(&ctx, FORWARD_TO, 0) } as u32;
    }
    add(0, 1);
    sk_action::SK_PASS
}

aya_node_ebpf::object_support!();

//! Programs the loader tests drive through `BPF_PROG_TEST_RUN` and introspection:
//! an XDP program with a verdict per UDP port (and a packet rewrite), a socket filter and a
//! tracepoint that count their runs in a map, and a global that user space sets before load.
#![no_std]
#![no_main]

use aya_ebpf::{
    bindings::xdp_action,
    macros::{map, socket_filter, tracepoint, xdp},
    maps::{Array, HashMap},
    programs::{SkBuffContext, TracePointContext, XdpContext},
};

/// UDP destination port whose packets are dropped (0: none). Set from user space before load.
#[unsafe(no_mangle)]
static BLOCKED_PORT: u16 = 0;

/// Run counters: index 0 for `count_packets`, 1 for `tp_count`.
#[map]
static HITS: Array<u64> = Array::with_max_entries(2, 0);

/// Unused by the programs; the tests override its size at load.
#[map]
static SCRATCH: HashMap<u32, u64> = HashMap::with_max_entries(16, 0);

const ETH_LEN: usize = 14;
const ETH_P_IPV4: u16 = 0x0800;
const IPPROTO_UDP: u8 = 17;
const UDP_ECHO_PORT: u16 = 7;

#[inline(always)]
fn ptr_at<T>(ctx: &XdpContext, offset: usize) -> Option<*mut T> {
    let start = ctx.data();
    if start + offset + core::mem::size_of::<T>() > ctx.data_end() {
        return None;
    }
    Some((start + offset) as *mut T)
}

/// IPv4/UDP to port `BLOCKED_PORT`: drop. To the echo port (7): swap the MAC addresses, the
/// IP addresses and the ports, and send it back out (checksums stay valid: they are sums).
/// Anything else: pass.
#[xdp]
pub fn xdp_verdict(ctx: XdpContext) -> u32 {
    verdict(&ctx).unwrap_or(xdp_action::XDP_PASS)
}

#[inline(always)]
fn verdict(ctx: &XdpContext) -> Option<u32> {
    let ether_type: *mut u16 = ptr_at(ctx, 12)?;
    if u16::from_be(unsafe { *ether_type }) != ETH_P_IPV4 {
        return Some(xdp_action::XDP_PASS);
    }
    let version_ihl: *mut u8 = ptr_at(ctx, ETH_LEN)?;
    let protocol: *mut u8 = ptr_at(ctx, ETH_LEN + 9)?;
    if unsafe { *version_ihl } != 0x45 || unsafe { *protocol } != IPPROTO_UDP {
        return Some(xdp_action::XDP_PASS);
    }
    let udp = ETH_LEN + 20;
    let src_port: *mut u16 = ptr_at(ctx, udp)?;
    let dst_port: *mut u16 = ptr_at(ctx, udp + 2)?;
    let dst = u16::from_be(unsafe { *dst_port });
    let blocked = unsafe { core::ptr::read_volatile(&BLOCKED_PORT) };
    if blocked != 0 && dst == blocked {
        return Some(xdp_action::XDP_DROP);
    }
    if dst != UDP_ECHO_PORT {
        return Some(xdp_action::XDP_PASS);
    }
    unsafe {
        for i in 0..6 {
            let a: *mut u8 = ptr_at(ctx, i)?;
            let b: *mut u8 = ptr_at(ctx, 6 + i)?;
            core::ptr::swap(a, b);
        }
        let src_ip: *mut u32 = ptr_at(ctx, ETH_LEN + 12)?;
        let dst_ip: *mut u32 = ptr_at(ctx, ETH_LEN + 16)?;
        core::ptr::swap(src_ip, dst_ip);
        core::ptr::swap(src_port, dst_port);
    }
    Some(xdp_action::XDP_TX)
}

#[inline(always)]
fn bump(index: u32) -> u64 {
    match HITS.get_ptr_mut(index) {
        Some(count) => unsafe {
            *count += 1;
            *count
        },
        None => 0,
    }
}

/// Counts its runs in `HITS[0]` and returns the new count (a socket filter's return value is
/// the number of bytes to keep; under test-run it is just a number).
#[socket_filter]
pub fn count_packets(_ctx: SkBuffContext) -> i64 {
    bump(0) as i64
}

/// Counts its runs in `HITS[1]`.
#[tracepoint]
pub fn tp_count(_ctx: TracePointContext) -> u32 {
    bump(1);
    0
}

aya_node_ebpf::object_support!("Dual MIT/GPL");

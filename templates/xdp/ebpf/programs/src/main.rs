//! XDP: drops IPv4 UDP packets to port `BLOCKED_PORT` and reports each one through `EVENTS`;
//! counts every packet by IP protocol in `COUNTS` (index 0: not IPv4); passes everything else.
#![no_std]
#![no_main]

use aya_ebpf::{
    bindings::xdp_action,
    macros::{map, xdp},
    maps::{PerCpuArray, RingBuf},
    programs::XdpContext,
};
use common::Event;

/// The UDP destination port to drop (set by user space before load; 0 drops nothing).
#[unsafe(no_mangle)]
static BLOCKED_PORT: u16 = 0;

#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(64 * 1024, 0);
/// Packets by IP protocol number, one counter per CPU: no two CPUs write the same counter, so
/// no atomic add is needed (the BPF target's `core` has none for u64).
#[map]
static COUNTS: PerCpuArray<u64> = PerCpuArray::with_max_entries(256, 0);

const ETH_LEN: usize = 14;
const ETH_P_IP: u16 = 0x0800;
const IPPROTO_UDP: u8 = 17;

#[xdp]
pub fn {{crate}}(ctx: XdpContext) -> u32 {
    let (start, end) = (ctx.data(), ctx.data_end());
    // Every read is bounds-checked against data_end first: the verifier insists.
    if start + ETH_LEN + 20 > end {
        count(0);
        return xdp_action::XDP_PASS;
    }
    let ethertype = u16::from_be(unsafe { core::ptr::read_unaligned((start + 12) as *const u16) });
    if ethertype != ETH_P_IP {
        count(0);
        return xdp_action::XDP_PASS;
    }
    let ip = start + ETH_LEN;
    let protocol = unsafe { *((ip + 9) as *const u8) };
    count(protocol as u32);
    if protocol != IPPROTO_UDP {
        return xdp_action::XDP_PASS;
    }
    let udp = ip + ((unsafe { *(ip as *const u8) } & 0x0f) as usize) * 4;
    if udp + 8 > end {
        return xdp_action::XDP_PASS;
    }
    let dport = u16::from_be(unsafe { core::ptr::read_unaligned((udp + 2) as *const u16) });
    let blocked = unsafe { core::ptr::read_volatile(&BLOCKED_PORT) };
    if blocked == 0 || dport != blocked {
        return xdp_action::XDP_PASS;
    }
    if let Some(mut entry) = EVENTS.reserve::<Event>(0) {
        let event = entry.as_mut_ptr();
        unsafe {
            (*event).saddr = core::ptr::read_unaligned((ip + 12) as *const [u8; 4]);
            (*event).daddr = core::ptr::read_unaligned((ip + 16) as *const [u8; 4]);
            (*event).sport = u16::from_be(core::ptr::read_unaligned(udp as *const u16));
            (*event).dport = dport;
            (*event).len = (end - start) as u32;
        }
        entry.submit(0);
    }
    xdp_action::XDP_DROP
}

#[inline(always)]
fn count(protocol: u32) {
    if let Some(n) = COUNTS.get_ptr_mut(protocol) {
        unsafe { *n += 1 };
    }
}

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}

/// The kernel lets only GPL-compatible programs call some helpers.
#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 4] = *b"GPL\0";

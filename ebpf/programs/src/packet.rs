//! Reading an IPv4/UDP destination port out of a packet, for the small networking test programs.

pub const ETH_HEADER_LEN: usize = 14;
pub const ETH_P_IP: u16 = 0x0800;
pub const IPPROTO_UDP: u8 = 17;

/// The UDP destination port of the IPv4 packet in `[start, end)` (direct packet access, as in
/// XDP and TC), starting at its Ethernet header; `None` for anything else.
#[inline(always)]
pub fn udp_dst_port_eth(start: usize, end: usize) -> Option<u16> {
    if start + ETH_HEADER_LEN + 20 > end {
        return None;
    }
    let ethertype = u16::from_be(unsafe { core::ptr::read_unaligned((start + 12) as *const u16) });
    if ethertype != ETH_P_IP {
        return None;
    }
    let ip = start + ETH_HEADER_LEN;
    let version_ihl = unsafe { *(ip as *const u8) };
    let protocol = unsafe { *((ip + 9) as *const u8) };
    if protocol != IPPROTO_UDP {
        return None;
    }
    let udp = ip + ((version_ihl & 0x0f) as usize) * 4;
    if udp + 8 > end {
        return None;
    }
    Some(u16::from_be(unsafe { core::ptr::read_unaligned((udp + 2) as *const u16) }))
}

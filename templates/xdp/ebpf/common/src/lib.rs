//! Types the eBPF program sends to user space. `aya-node build` generates their TypeScript
//! codecs and types from the compiled object (src/generated.ts), so edit them here only.
#![no_std]

/// One dropped packet, as the program writes it into the `EVENTS` ring buffer.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Event {
    /// IPv4 source and destination addresses, in network byte order (as on the wire).
    pub saddr: [u8; 4],
    pub daddr: [u8; 4],
    pub sport: u16,
    pub dport: u16,
    /// Length of the whole frame in bytes.
    pub len: u32,
}

use crate::execsnoop::COMM_LEN;

/// One TCP connection that closed, from the `sock:inet_sock_set_state` tracepoint.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct TcpLifeEvent {
    /// Process that opened it (connect or accept side), 0 when not seen.
    pub pid: u32,
    /// `AF_INET` (2) or `AF_INET6` (10).
    pub family: u16,
    pub sport: u16,
    pub dport: u16,
    pub _pad: u16,
    /// Local and remote address; IPv4 uses the first 4 bytes.
    pub saddr: [u8; 16],
    pub daddr: [u8; 16],
    /// From the first state change seen to TCP_CLOSE.
    pub duration_ns: u64,
    /// `tcp_sock.bytes_received` and `bytes_acked` (read at offsets found in BTF; 0 if unknown).
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    pub comm: [u8; COMM_LEN],
}

/// What the program remembers about a socket between state changes.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct TcpBirth {
    pub start_ns: u64,
    pub pid: u32,
    pub _pad: u32,
    pub comm: [u8; COMM_LEN],
}

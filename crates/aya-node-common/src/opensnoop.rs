use crate::execsnoop::COMM_LEN;

/// Bytes of the opened path kept in an event.
pub const PATH_LEN: usize = 256;

/// One `open`/`openat`, emitted when it returns.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct OpenEvent {
    pub pid: u32,
    pub tid: u32,
    pub uid: u32,
    /// The `flags` argument (O_RDONLY, O_CREAT, ...).
    pub flags: i32,
    /// The new fd, or the negative errno.
    pub retval: i32,
    pub mode: u32,
    pub comm: [u8; COMM_LEN],
    pub path: [u8; PATH_LEN],
}

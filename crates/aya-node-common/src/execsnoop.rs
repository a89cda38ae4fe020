/// Length of `task_struct.comm` in the kernel.
pub const COMM_LEN: usize = 16;
/// Bytes of the executed path kept in an event; longer paths are cut (and stay NUL-less).
pub const FILENAME_LEN: usize = 256;

/// One `execve` seen by the `execsnoop` program.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ExecEvent {
    /// Thread-group id (what user space calls the pid) of the caller.
    pub pid: u32,
    /// Thread-group id of the real parent, read through offsets user space found in the
    /// kernel's BTF; 0 when those offsets were not supplied.
    pub ppid: u32,
    pub uid: u32,
    pub gid: u32,
    pub comm: [u8; COMM_LEN],
    pub filename: [u8; FILENAME_LEN],
}

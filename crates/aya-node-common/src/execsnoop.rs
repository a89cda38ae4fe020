/// Length of `task_struct.comm` in the kernel.
pub const COMM_LEN: usize = 16;
/// Bytes of the executed path kept in an event; longer paths are cut (and stay NUL-less).
pub const FILENAME_LEN: usize = 256;
/// Arguments captured per exec; `ExecEvent::flags` has [`ARGS_TRUNCATED`] when there were more.
pub const MAX_ARGS: usize = 20;
/// Bytes kept of each argument.
pub const ARG_LEN: usize = 128;
/// Flag: the process had more than [`MAX_ARGS`] arguments.
pub const ARGS_TRUNCATED: u32 = 1;

/// One `execve`, emitted when it returns (so `retval` is known).
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
    /// 0, or the negative errno of a failed exec.
    pub retval: i32,
    /// How many entries of `args` are filled.
    pub argc: u32,
    pub flags: u32,
    pub _pad: u32,
    pub comm: [u8; COMM_LEN],
    pub filename: [u8; FILENAME_LEN],
    pub args: [[u8; ARG_LEN]; MAX_ARGS],
}

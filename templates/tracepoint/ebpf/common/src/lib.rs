//! Types the eBPF program sends to user space. `aya-node build` generates their TypeScript
//! codecs and types from the compiled object (src/generated.ts), so edit them here only.
#![no_std]

/// Length of a task's command name (`TASK_COMM_LEN`).
pub const COMM_LEN: usize = 16;

/// One process execution, as the program writes it into the `EVENTS` ring buffer.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Event {
    pub pid: u32,
    pub uid: u32,
    /// Executions seen so far for this uid (from the `COUNTS` hash map).
    pub count: u64,
    /// The new command name (a C string: listed under `strings` in package.json).
    pub comm: [u8; COMM_LEN],
}

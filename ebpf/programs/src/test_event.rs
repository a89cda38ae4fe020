//! The record the small test programs (`raw_tracepoint`, `xdp_drop`, ...) send to user space:
//! which process hit the hook and one value the program read there.

use aya_ebpf::maps::RingBuf;

/// 16 bytes, no padding: `{ tgid: u32, tag: u32, value: i64 }`.
#[repr(C)]
pub struct TestEvent {
    /// Thread-group id (the user-space pid) of the current task, 0 where there is none.
    pub tgid: u32,
    /// Which program of the object sent it, when an object has several.
    pub tag: u32,
    /// What the program saw: a syscall number, an argument, a return value, a port.
    pub value: i64,
}

/// Sends one event; a full ring drops it (tests read far fewer events than fit).
#[inline(always)]
pub fn emit(ring: &RingBuf, tgid: u32, tag: u32, value: i64) {
    let _ = ring.output::<TestEvent>(&TestEvent { tgid, tag, value }, 0);
}

/// The current task's thread-group id.
#[inline(always)]
pub fn current_tgid() -> u32 {
    (aya_ebpf::helpers::bpf_get_current_pid_tgid() >> 32) as u32
}

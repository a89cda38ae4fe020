//! System calls seen from the raw `sys_enter` / `sys_exit` tracepoints, which need no tracefs
//! (the per-syscall `syscalls:*` tracepoints are attached through it). Their first argument is
//! the task's user `struct pt_regs *`; where each argument register sits in it differs per
//! architecture, so user space finds the offsets in the kernel's BTF and sets them as globals.

use aya_ebpf::programs::RawTracePointContext;

use crate::kernel::field;

/// The syscall number at `sys_enter` (its second argument).
#[inline(always)]
pub fn enter_id(ctx: &RawTracePointContext) -> i64 {
    ctx.arg::<u64>(1) as i64
}

/// The return value at `sys_exit` (its second argument).
#[inline(always)]
pub fn exit_ret(ctx: &RawTracePointContext) -> i64 {
    ctx.arg::<u64>(1) as i64
}

/// The u64 at `offset` in the `pt_regs` of a raw `sys_enter`/`sys_exit` (an argument register,
/// or the syscall number at exit); 0 when unreadable.
#[inline(always)]
pub fn reg(ctx: &RawTracePointContext, offset: u32) -> u64 {
    field(ctx.arg(0), offset).unwrap_or(0)
}

/// The syscall number at `sys_exit`, from the `pt_regs` member at `offset` (`orig_ax` on x86-64,
/// the 32-bit `syscallno` on arm64: only the low 32 bits count).
#[inline(always)]
pub fn exit_id(ctx: &RawTracePointContext, offset: u32) -> i64 {
    reg(ctx, offset) as i32 as i64
}

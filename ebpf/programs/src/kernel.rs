//! Reads of kernel structs at offsets user space found in the running kernel's BTF (Rust eBPF
//! objects carry no CO-RE relocations): the arguments of raw tracepoints are such pointers.

use aya_ebpf::helpers::bpf_probe_read_kernel;

/// The `T` at byte `offset` of the kernel struct at `base`; `None` if unreadable.
#[inline(always)]
pub fn field<T>(base: u64, offset: u32) -> Option<T> {
    unsafe { bpf_probe_read_kernel((base + u64::from(offset)) as *const T) }.ok()
}

/// `field` at the offset held in the global `offset` (read volatile: the value is set at load).
#[inline(always)]
pub fn field_at<T>(base: u64, offset: &u32) -> Option<T> {
    field(base, unsafe { core::ptr::read_volatile(offset) })
}

//! A task iterator (`iter/task`, BPF_PROG_TYPE_TRACING): called once per task on every read of
//! the iterator; writes each task's tgid (the user-space pid) as 4 native-endian bytes.
//! aya-ebpf has no macro for iterators, so the section and context are spelled out here.
#![no_std]
#![no_main]

use core::ffi::c_void;

use aya_ebpf::helpers::{bpf_probe_read_kernel, generated::bpf_seq_write};

/// Offset of `tgid` in the kernel's `task_struct` (from its BTF, set at load).
#[unsafe(no_mangle)]
static TASK_TGID_OFFSET: u32 = 0;

/// The kernel's `struct bpf_iter_meta`.
#[repr(C)]
pub struct IterMeta {
    seq: *mut c_void,
    session_id: u64,
    seq_num: u64,
}

/// The kernel's `struct bpf_iter__task`: the context of a task iterator.
#[repr(C)]
pub struct IterTaskContext {
    meta: *mut IterMeta,
    /// Null on the last call, after the last task.
    task: *const u8,
}

#[unsafe(no_mangle)]
#[unsafe(link_section = "iter/task")]
pub extern "C" fn dump_task_tgids(ctx: *mut IterTaskContext) -> i32 {
    let (meta, task) = unsafe { ((*ctx).meta, (*ctx).task) };
    if task.is_null() {
        return 0;
    }
    let offset = unsafe { core::ptr::read_volatile(&TASK_TGID_OFFSET) } as usize;
    let Ok(tgid) = (unsafe { bpf_probe_read_kernel(task.add(offset).cast::<i32>()) }) else {
        return 0;
    };
    unsafe { bpf_seq_write((*meta).seq.cast(), (&tgid as *const i32).cast_mut().cast(), 4) };
    0
}

aya_node_ebpf::object_support!();

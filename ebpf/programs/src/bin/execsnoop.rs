//! execsnoop: one `ExecEvent` per `execve`, from the `syscalls/sys_enter_execve` tracepoint.
#![no_std]
#![no_main]

use aya_ebpf::{
    helpers::{
        bpf_get_current_pid_tgid, generated, bpf_get_current_task,
        bpf_get_current_uid_gid, bpf_probe_read_kernel, bpf_probe_read_user_str_bytes,
    },
    macros::{map, tracepoint},
    maps::RingBuf,
    programs::TracePointContext,
};
use aya_node_common::execsnoop::{ExecEvent, COMM_LEN};

/// Offsets inside `struct task_struct`, found by user space in the running kernel's BTF and
/// set before load (Rust eBPF objects carry no CO-RE relocations). 0 means unknown.
#[unsafe(no_mangle)]
static TASK_REAL_PARENT_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static TASK_TGID_OFFSET: u32 = 0;

#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(256 * 1024, 0);

/// Offset of `filename` in the sys_enter_execve record (see the tracepoint's `format`).
const FILENAME_FIELD: usize = 16;

#[tracepoint]
pub fn execsnoop(ctx: TracePointContext) -> u32 {
    let Some(mut entry) = EVENTS.reserve::<ExecEvent>(0) else {
        return 0;
    };
    let event = entry.as_mut_ptr();
    unsafe {
        (*event).pid = (bpf_get_current_pid_tgid() >> 32) as u32;
        let uid_gid = bpf_get_current_uid_gid();
        (*event).uid = uid_gid as u32;
        (*event).gid = (uid_gid >> 32) as u32;
        (*event).ppid = parent_tgid();
        // The raw helper writes straight into the reserved slot (no 16-byte temporary to zero).
        generated::bpf_get_current_comm((*event).comm.as_mut_ptr().cast(), COMM_LEN as u32);
        (*event).filename[0] = 0;
        if let Ok(filename) = ctx.read_at::<*const u8>(FILENAME_FIELD) {
            let _ = bpf_probe_read_user_str_bytes(filename, &mut (*event).filename);
        }
    }
    entry.submit(0);
    0
}

fn parent_tgid() -> u32 {
    let real_parent = unsafe { core::ptr::read_volatile(&TASK_REAL_PARENT_OFFSET) } as usize;
    let tgid = unsafe { core::ptr::read_volatile(&TASK_TGID_OFFSET) } as usize;
    if real_parent == 0 || tgid == 0 {
        return 0;
    }
    unsafe {
        let task = bpf_get_current_task() as *const u8;
        let Ok(parent) = bpf_probe_read_kernel(task.add(real_parent) as *const *const u8) else {
            return 0;
        };
        bpf_probe_read_kernel(parent.add(tgid) as *const u32).unwrap_or(0)
    }
}

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}

#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 13] = *b"Dual MIT/GPL\0";

//! execsnoop: one `ExecEvent` per `execve`, with its arguments and return value.
//!
//! `sys_enter_execve` gathers the event into a per-CPU scratch slot (too big for the stack)
//! and parks it in `PENDING` by thread id; `sys_exit_execve` adds the return value and sends it.
#![no_std]
#![no_main]

use aya_ebpf::{
    helpers::{
        bpf_get_current_pid_tgid, bpf_get_current_task, bpf_get_current_uid_gid, bpf_probe_read_kernel,
        bpf_probe_read_user, bpf_probe_read_user_str_bytes, generated,
    },
    macros::{map, tracepoint},
    maps::{HashMap, PerCpuArray, RingBuf},
    programs::TracePointContext,
};
use aya_node_ebpf::ring::output_or_count_drop;
use aya_node_common::execsnoop::{ExecEvent, ARGS_TRUNCATED, COMM_LEN, MAX_ARGS};

/// Offsets inside `struct task_struct`, found by user space in the running kernel's BTF and
/// set before load (Rust eBPF objects carry no CO-RE relocations). 0 means unknown.
#[unsafe(no_mangle)]
static TASK_REAL_PARENT_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static TASK_TGID_OFFSET: u32 = 0;

#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(1024 * 1024, 0);
/// Events lost because `EVENTS` was full (entry 0, per CPU).
#[map]
static DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);
#[map]
static SCRATCH: PerCpuArray<ExecEvent> = PerCpuArray::with_max_entries(1, 0);
#[map]
static PENDING: HashMap<u32, ExecEvent> = HashMap::with_max_entries(10240, 0);

/// Offsets in the sys_enter_execve / sys_exit_execve records (see the tracepoints' `format`).
const FILENAME_FIELD: usize = 16;
const ARGV_FIELD: usize = 24;
const RET_FIELD: usize = 16;

#[tracepoint]
pub fn execsnoop_enter(ctx: TracePointContext) -> u32 {
    let Some(event) = SCRATCH.get_ptr_mut(0) else { return 0 };
    let pid_tgid = bpf_get_current_pid_tgid();
    unsafe {
        (*event).pid = (pid_tgid >> 32) as u32;
        let uid_gid = bpf_get_current_uid_gid();
        (*event).uid = uid_gid as u32;
        (*event).gid = (uid_gid >> 32) as u32;
        (*event).ppid = parent_tgid();
        (*event).retval = 0;
        (*event).argc = 0;
        (*event).flags = 0;
        // The raw helper writes straight into the slot (no 16-byte temporary to zero).
        generated::bpf_get_current_comm((*event).comm.as_mut_ptr().cast(), COMM_LEN as u32);
        (*event).filename[0] = 0;
        if let Ok(filename) = ctx.read_at::<*const u8>(FILENAME_FIELD) {
            let _ = bpf_probe_read_user_str_bytes(filename, &mut (*event).filename);
        }
        if let Ok(argv) = ctx.read_at::<*const *const u8>(ARGV_FIELD) {
            for i in 0..MAX_ARGS {
                let Ok(arg) = bpf_probe_read_user(argv.add(i)) else { break };
                if arg.is_null() {
                    break;
                }
                let _ = bpf_probe_read_user_str_bytes(arg, &mut (*event).args[i]);
                (*event).argc = i as u32 + 1;
            }
            if (*event).argc == MAX_ARGS as u32 {
                if let Ok(more) = bpf_probe_read_user(argv.add(MAX_ARGS)) {
                    if !more.is_null() {
                        (*event).flags |= ARGS_TRUNCATED;
                    }
                }
            }
        }
        let _ = PENDING.insert(&(pid_tgid as u32), &*event, 0);
    }
    0
}

#[tracepoint]
pub fn execsnoop_exit(ctx: TracePointContext) -> u32 {
    let tid = bpf_get_current_pid_tgid() as u32;
    let Some(event) = PENDING.get_ptr_mut(&tid) else { return 0 };
    unsafe {
        (*event).retval = ctx.read_at::<i64>(RET_FIELD).unwrap_or(0) as i32;
        output_or_count_drop(&EVENTS, &DROPS, &*event);
    }
    let _ = PENDING.remove(&tid);
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

aya_node_ebpf::object_support!("Dual MIT/GPL");

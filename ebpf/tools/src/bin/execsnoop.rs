//! execsnoop: one `ExecEvent` per `execve`, with its arguments and return value.
//!
//! On the raw `sys_enter` tracepoint (no tracefs needed), an `execve` gathers the event into a
//! per-CPU scratch slot (too big for the stack) and parks it in `PENDING` by thread id; its
//! `sys_exit` adds the return value and sends it.
#![no_std]
#![no_main]

use aya_ebpf::{
    helpers::{
        bpf_get_current_pid_tgid, bpf_get_current_task, bpf_get_current_uid_gid, bpf_probe_read_kernel,
        bpf_probe_read_user, bpf_probe_read_user_str_bytes, generated,
    },
    macros::{map, raw_tracepoint},
    maps::{HashMap, PerCpuArray, RingBuf},
    programs::RawTracePointContext,
};
use aya_node_ebpf::{ring::output_or_count_drop, syscall};
use aya_node_common::execsnoop::{ExecEvent, ARGS_TRUNCATED, COMM_LEN, MAX_ARGS};

/// Offsets inside `struct task_struct`, found by user space in the running kernel's BTF and
/// set before load (Rust eBPF objects carry no CO-RE relocations). 0 means unknown.
#[unsafe(no_mangle)]
static TASK_REAL_PARENT_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static TASK_TGID_OFFSET: u32 = 0;
/// This architecture's `execve` number (-1: none).
#[unsafe(no_mangle)]
static SYS_EXECVE: i64 = -1;
/// Offsets in `struct pt_regs` of the first two syscall arguments and of the syscall number
/// at exit (from BTF; see `aya_node_ebpf::syscall`).
#[unsafe(no_mangle)]
static SYSCALL_ARG_OFFSETS: [u32; 6] = [0; 6];
#[unsafe(no_mangle)]
static SYSCALL_NR_OFFSET: u32 = 0;

#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(1024 * 1024, 0);
/// Events lost because `EVENTS` was full (entry 0, per CPU).
#[map]
static DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);
#[map]
static SCRATCH: PerCpuArray<ExecEvent> = PerCpuArray::with_max_entries(1, 0);
#[map]
static PENDING: HashMap<u32, ExecEvent> = HashMap::with_max_entries(10240, 0);

fn sys_execve() -> i64 {
    unsafe { core::ptr::read_volatile(&SYS_EXECVE) }
}

#[raw_tracepoint(tracepoint = "sys_enter")]
pub fn execsnoop_enter(ctx: RawTracePointContext) -> i32 {
    if syscall::enter_id(&ctx) != sys_execve() {
        return 0;
    }
    let offsets = unsafe { core::ptr::read_volatile(&SYSCALL_ARG_OFFSETS) };
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
        let filename = syscall::reg(&ctx, offsets[0]) as *const u8;
        if !filename.is_null() {
            let _ = bpf_probe_read_user_str_bytes(filename, &mut (*event).filename);
        }
        let argv = syscall::reg(&ctx, offsets[1]) as *const *const u8;
        if !argv.is_null() {
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

#[raw_tracepoint(tracepoint = "sys_exit")]
pub fn execsnoop_exit(ctx: RawTracePointContext) -> i32 {
    if syscall::exit_id(&ctx, unsafe { core::ptr::read_volatile(&SYSCALL_NR_OFFSET) }) != sys_execve() {
        return 0;
    }
    let tid = bpf_get_current_pid_tgid() as u32;
    let Some(event) = PENDING.get_ptr_mut(&tid) else { return 0 };
    unsafe {
        (*event).retval = syscall::exit_ret(&ctx) as i32;
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

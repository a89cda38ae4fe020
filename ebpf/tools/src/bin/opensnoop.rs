//! opensnoop: one `OpenEvent` per `open`/`openat`, with its result, from the raw `sys_enter`
//! and `sys_exit` tracepoints (no tracefs needed).
//!
//! Optional filters, set by user space before load: `FILTER_PID` (0 = every process) and
//! `FILTER_COMM` (empty = every command).
#![no_std]
#![no_main]

use aya_ebpf::{
    helpers::{bpf_get_current_pid_tgid, bpf_get_current_uid_gid, bpf_probe_read_user_str_bytes, generated},
    macros::{map, raw_tracepoint},
    maps::{HashMap, PerCpuArray, RingBuf},
    programs::RawTracePointContext,
};
use aya_node_ebpf::{ring::output_or_count_drop, syscall};
use aya_node_common::{execsnoop::COMM_LEN, opensnoop::OpenEvent};

#[unsafe(no_mangle)]
static FILTER_PID: u32 = 0;
#[unsafe(no_mangle)]
static FILTER_COMM: [u8; COMM_LEN] = [0; COMM_LEN];
/// This architecture's `openat` and `open` numbers (-1: none, e.g. `open` on arm64).
#[unsafe(no_mangle)]
static SYS_OPENAT: i64 = -1;
#[unsafe(no_mangle)]
static SYS_OPEN: i64 = -1;
/// Offsets in `struct pt_regs` of the syscall arguments and of the syscall number at exit
/// (from BTF; see `aya_node_ebpf::syscall`).
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
static SCRATCH: PerCpuArray<OpenEvent> = PerCpuArray::with_max_entries(1, 0);
#[map]
static PENDING: HashMap<u32, OpenEvent> = HashMap::with_max_entries(10240, 0);

fn is_open(id: i64) -> bool {
    id >= 0 && (id == unsafe { core::ptr::read_volatile(&SYS_OPENAT) } || id == unsafe { core::ptr::read_volatile(&SYS_OPEN) })
}

fn wanted(event: *const OpenEvent) -> bool {
    let pid = unsafe { core::ptr::read_volatile(&FILTER_PID) };
    if pid != 0 && unsafe { (*event).pid } != pid {
        return false;
    }
    let comm = unsafe { core::ptr::read_volatile(&FILTER_COMM) };
    if comm[0] == 0 {
        return true;
    }
    for i in 0..COMM_LEN {
        let c = unsafe { (*event).comm[i] };
        if c != comm[i] {
            return false;
        }
        if c == 0 {
            break;
        }
    }
    true
}

/// `first`: the index of the path argument (openat's 1, open's 0); flags and mode follow it.
fn enter(ctx: &RawTracePointContext, first: usize) -> i32 {
    let offsets = unsafe { core::ptr::read_volatile(&SYSCALL_ARG_OFFSETS) };
    let (path_at, flags_at, mode_at) = if first == 0 { (offsets[0], offsets[1], offsets[2]) } else { (offsets[1], offsets[2], offsets[3]) };
    let Some(event) = SCRATCH.get_ptr_mut(0) else { return 0 };
    let pid_tgid = bpf_get_current_pid_tgid();
    unsafe {
        (*event).pid = (pid_tgid >> 32) as u32;
        (*event).tid = pid_tgid as u32;
        (*event).uid = bpf_get_current_uid_gid() as u32;
        generated::bpf_get_current_comm((*event).comm.as_mut_ptr().cast(), COMM_LEN as u32);
        if !wanted(event) {
            return 0;
        }
        (*event).flags = syscall::reg(ctx, flags_at) as i32;
        (*event).mode = syscall::reg(ctx, mode_at) as u32;
        (*event).retval = 0;
        (*event).path[0] = 0;
        let path = syscall::reg(ctx, path_at) as *const u8;
        if !path.is_null() {
            let _ = bpf_probe_read_user_str_bytes(path, &mut (*event).path);
        }
        let _ = PENDING.insert(&(pid_tgid as u32), &*event, 0);
    }
    0
}

#[raw_tracepoint(tracepoint = "sys_enter")]
pub fn opensnoop_enter(ctx: RawTracePointContext) -> i32 {
    let id = syscall::enter_id(&ctx);
    if id < 0 {
        return 0;
    }
    if id == unsafe { core::ptr::read_volatile(&SYS_OPENAT) } {
        enter(&ctx, 1)
    } else if id == unsafe { core::ptr::read_volatile(&SYS_OPEN) } {
        enter(&ctx, 0)
    } else {
        0
    }
}

#[raw_tracepoint(tracepoint = "sys_exit")]
pub fn opensnoop_exit(ctx: RawTracePointContext) -> i32 {
    if !is_open(syscall::exit_id(&ctx, unsafe { core::ptr::read_volatile(&SYSCALL_NR_OFFSET) })) {
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

aya_node_ebpf::object_support!("Dual MIT/GPL");

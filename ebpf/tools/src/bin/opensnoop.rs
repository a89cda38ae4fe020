//! opensnoop: one `OpenEvent` per `open`/`openat`, with its result.
//!
//! Optional filters, set by user space before load: `FILTER_PID` (0 = every process) and
//! `FILTER_COMM` (empty = every command).
#![no_std]
#![no_main]

use aya_ebpf::{
    helpers::{bpf_get_current_pid_tgid, bpf_get_current_uid_gid, bpf_probe_read_user_str_bytes, generated},
    macros::{map, tracepoint},
    maps::{HashMap, PerCpuArray, RingBuf},
    programs::TracePointContext,
};
use aya_node_ebpf::ring::output_or_count_drop;
use aya_node_common::{execsnoop::COMM_LEN, opensnoop::OpenEvent};

#[unsafe(no_mangle)]
static FILTER_PID: u32 = 0;
#[unsafe(no_mangle)]
static FILTER_COMM: [u8; COMM_LEN] = [0; COMM_LEN];

#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(1024 * 1024, 0);
/// Events lost because `EVENTS` was full (entry 0, per CPU).
#[map]
static DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);
#[map]
static SCRATCH: PerCpuArray<OpenEvent> = PerCpuArray::with_max_entries(1, 0);
#[map]
static PENDING: HashMap<u32, OpenEvent> = HashMap::with_max_entries(10240, 0);

/// Field offsets of sys_enter_openat (dfd 16, filename 24, flags 32, mode 40), of
/// sys_enter_open (filename 16, flags 24, mode 32), and of the exits (ret 16).
const RET_FIELD: usize = 16;

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

fn enter(ctx: &TracePointContext, filename_field: usize) -> u32 {
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
        (*event).flags = ctx.read_at::<u64>(filename_field + 8).unwrap_or(0) as i32;
        (*event).mode = ctx.read_at::<u64>(filename_field + 16).unwrap_or(0) as u32;
        (*event).retval = 0;
        (*event).path[0] = 0;
        if let Ok(path) = ctx.read_at::<*const u8>(filename_field) {
            let _ = bpf_probe_read_user_str_bytes(path, &mut (*event).path);
        }
        let _ = PENDING.insert(&(pid_tgid as u32), &*event, 0);
    }
    0
}

#[tracepoint]
pub fn opensnoop_enter_openat(ctx: TracePointContext) -> u32 {
    enter(&ctx, 24)
}

#[tracepoint]
pub fn opensnoop_enter_open(ctx: TracePointContext) -> u32 {
    enter(&ctx, 16)
}

#[tracepoint]
pub fn opensnoop_exit(ctx: TracePointContext) -> u32 {
    let tid = bpf_get_current_pid_tgid() as u32;
    let Some(event) = PENDING.get_ptr_mut(&tid) else { return 0 };
    unsafe {
        (*event).retval = ctx.read_at::<i64>(RET_FIELD).unwrap_or(0) as i32;
        output_or_count_drop(&EVENTS, &DROPS, &*event);
    }
    let _ = PENDING.remove(&tid);
    0
}

aya_node_ebpf::object_support!("Dual MIT/GPL");

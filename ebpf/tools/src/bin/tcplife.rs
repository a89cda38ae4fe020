//! tcplife: one `TcpLifeEvent` per TCP connection when it closes, with its duration and the
//! bytes it moved, from `sock:inet_sock_set_state` (no kprobes needed).
#![no_std]
#![no_main]

use aya_ebpf::{
    helpers::{bpf_get_current_pid_tgid, bpf_ktime_get_ns, bpf_probe_read_kernel, generated},
    macros::{map, tracepoint},
    maps::{HashMap, PerCpuArray, RingBuf},
    programs::TracePointContext,
};
use aya_node_ebpf::ring::output_or_count_drop;
use aya_node_common::{
    execsnoop::COMM_LEN,
    tcplife::{TcpBirth, TcpLifeEvent},
};

/// Offsets of `bytes_received` and `bytes_acked` in `struct tcp_sock`, from BTF (0 = unknown).
#[unsafe(no_mangle)]
static TCP_BYTES_RECEIVED_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static TCP_BYTES_ACKED_OFFSET: u32 = 0;

#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(256 * 1024, 0);
/// Events lost because `EVENTS` was full (entry 0, per CPU).
#[map]
static DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);
#[map]
static BIRTHS: HashMap<u64, TcpBirth> = HashMap::with_max_entries(16384, 0);
#[map]
static SCRATCH: PerCpuArray<TcpLifeEvent> = PerCpuArray::with_max_entries(1, 0);

// Field offsets of the tracepoint record (see its `format`).
const SKADDR: usize = 8;
const NEWSTATE: usize = 20;
const SPORT: usize = 24;
const DPORT: usize = 26;
const FAMILY: usize = 28;
const PROTOCOL: usize = 30;
const SADDR: usize = 32;
const DADDR: usize = 36;
const SADDR_V6: usize = 40;
const DADDR_V6: usize = 56;

const IPPROTO_TCP: u16 = 6;
const AF_INET: u16 = 2;
const TCP_SYN_SENT: i32 = 2;
const TCP_FIN_WAIT1: i32 = 4;
const TCP_CLOSE: i32 = 7;
const TCP_LAST_ACK: i32 = 9;

#[tracepoint]
pub fn tcplife(ctx: TracePointContext) -> u32 {
    unsafe { try_tcplife(&ctx) }.unwrap_or(0)
}

unsafe fn try_tcplife(ctx: &TracePointContext) -> Result<u32, i64> {
    if unsafe { ctx.read_at::<u16>(PROTOCOL)? } != IPPROTO_TCP {
        return Ok(0);
    }
    let sk: u64 = unsafe { ctx.read_at(SKADDR)? };
    let newstate: i32 = unsafe { ctx.read_at(NEWSTATE)? };

    // Birth: the first state change into an opening state; the process is the one that
    // connects (SYN_SENT) or, for passive closes, the one still there at LAST_ACK.
    if newstate < TCP_FIN_WAIT1 && unsafe { BIRTHS.get(&sk) }.is_none() {
        let mut birth = core::mem::MaybeUninit::<TcpBirth>::uninit();
        let b = birth.as_mut_ptr();
        unsafe {
            (*b).start_ns = bpf_ktime_get_ns();
            (*b)._pad = 0;
            set_process(&mut *b);
            // Only a connect (SYN_SENT) runs in the owning process; a passive open does not.
            if newstate != TCP_SYN_SENT {
                (*b).pid = 0;
            }
            let _ = BIRTHS.insert(&sk, &*b, 0);
        }
    }
    if newstate == TCP_SYN_SENT || newstate == TCP_LAST_ACK {
        if let Some(birth) = BIRTHS.get_ptr_mut(&sk) {
            if unsafe { (*birth).pid } == 0 {
                set_process(unsafe { &mut *birth });
            }
        }
    }
    if newstate != TCP_CLOSE {
        return Ok(0);
    }

    let Some(birth) = BIRTHS.get_ptr(&sk) else { return Ok(0) };
    let Some(event) = SCRATCH.get_ptr_mut(0) else { return Ok(0) };
    unsafe {
        let e = &mut *event;
        e.pid = (*birth).pid;
        copy16(e.comm.as_mut_ptr(), (*birth).comm.as_ptr());
        e.duration_ns = bpf_ktime_get_ns() - (*birth).start_ns;
        e.family = ctx.read_at(FAMILY)?;
        e.sport = ctx.read_at(SPORT)?;
        e.dport = ctx.read_at(DPORT)?;
        let record = aya_ebpf::EbpfContext::as_ptr(ctx) as *const u8;
        if e.family == AF_INET {
            // The IPv4 address, then zeros to 16 bytes. Volatile u32 stores (the fields are
            // 4-aligned), so LLVM does not merge them into a memset bpf-linker cannot link.
            let (s, d) = (e.saddr.as_mut_ptr() as *mut u32, e.daddr.as_mut_ptr() as *mut u32);
            s.write_volatile(ctx.read_at::<u32>(SADDR)?);
            d.write_volatile(ctx.read_at::<u32>(DADDR)?);
            for i in 1..4 {
                s.add(i).write_volatile(0);
                d.add(i).write_volatile(0);
            }
        } else {
            // Straight into the event: no 16-byte temporaries (bpf-linker has no memcpy).
            generated::bpf_probe_read_kernel(e.saddr.as_mut_ptr().cast(), 16, record.add(SADDR_V6).cast());
            generated::bpf_probe_read_kernel(e.daddr.as_mut_ptr().cast(), 16, record.add(DADDR_V6).cast());
        }
        e.rx_bytes = read_u64(sk, core::ptr::read_volatile(&TCP_BYTES_RECEIVED_OFFSET));
        e.tx_bytes = read_u64(sk, core::ptr::read_volatile(&TCP_BYTES_ACKED_OFFSET));
        output_or_count_drop(&EVENTS, &DROPS, &*event);
    }
    let _ = BIRTHS.remove(&sk);
    Ok(0)
}

fn set_process(birth: &mut TcpBirth) {
    birth.pid = (bpf_get_current_pid_tgid() >> 32) as u32;
    unsafe { generated::bpf_get_current_comm(birth.comm.as_mut_ptr().cast(), COMM_LEN as u32) };
}

/// Copies 16 bytes as two u64 moves (a 16-byte array assignment would call memmove).
unsafe fn copy16(dst: *mut u8, src: *const u8) {
    unsafe {
        (dst as *mut u64).write_unaligned((src as *const u64).read_unaligned());
        (dst.add(8) as *mut u64).write_unaligned((src.add(8) as *const u64).read_unaligned());
    }
}

fn read_u64(sk: u64, offset: u32) -> u64 {
    if offset == 0 {
        return 0;
    }
    unsafe { bpf_probe_read_kernel((sk + u64::from(offset)) as *const u64) }.unwrap_or(0)
}

aya_node_ebpf::object_support!("Dual MIT/GPL");

//! tcplife: one `TcpLifeEvent` per TCP connection when it closes, with its duration and the
//! bytes it moved, from the raw `inet_sock_set_state` tracepoint (no kprobes, no tracefs
//! needed). Its arguments are `(const struct sock *sk, int oldstate, int newstate)`; what the
//! `sock:inet_sock_set_state` record holds is read from `sk` at offsets found in BTF.
#![no_std]
#![no_main]

use aya_ebpf::{
    helpers::{bpf_get_current_pid_tgid, bpf_ktime_get_ns, generated},
    macros::{map, raw_tracepoint},
    maps::{HashMap, PerCpuArray, RingBuf},
    programs::RawTracePointContext,
};
use aya_node_ebpf::{kernel::field_at, ring::output_or_count_drop};
use aya_node_common::{
    execsnoop::COMM_LEN,
    tcplife::{TcpBirth, TcpLifeEvent},
};

/// Offsets of `bytes_received` and `bytes_acked` in `struct tcp_sock`, from BTF (0 = unknown).
#[unsafe(no_mangle)]
static TCP_BYTES_RECEIVED_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static TCP_BYTES_ACKED_OFFSET: u32 = 0;
/// Offsets in `struct sock` (through `struct sock_common` / `struct inet_sock`), from BTF.
#[unsafe(no_mangle)]
static SK_FAMILY_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static SK_PROTOCOL_OFFSET: u32 = 0;
/// `inet_sport` of `struct inet_sock` and `skc_dport`, both in network byte order.
#[unsafe(no_mangle)]
static SK_SPORT_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static SK_DPORT_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static SK_SADDR_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static SK_DADDR_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static SK_SADDR_V6_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static SK_DADDR_V6_OFFSET: u32 = 0;

#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(256 * 1024, 0);
/// Events lost because `EVENTS` was full (entry 0, per CPU).
#[map]
static DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);
#[map]
static BIRTHS: HashMap<u64, TcpBirth> = HashMap::with_max_entries(16384, 0);
#[map]
static SCRATCH: PerCpuArray<TcpLifeEvent> = PerCpuArray::with_max_entries(1, 0);

const IPPROTO_TCP: u16 = 6;
const AF_INET: u16 = 2;
const TCP_SYN_SENT: i32 = 2;
const TCP_FIN_WAIT1: i32 = 4;
const TCP_CLOSE: i32 = 7;
const TCP_LAST_ACK: i32 = 9;

#[raw_tracepoint(tracepoint = "inet_sock_set_state")]
pub fn tcplife(ctx: RawTracePointContext) -> i32 {
    unsafe { try_tcplife(&ctx) }.unwrap_or(0)
}

unsafe fn try_tcplife(ctx: &RawTracePointContext) -> Option<i32> {
    let sk: u64 = ctx.arg(0);
    if field_at::<u16>(sk, &SK_PROTOCOL_OFFSET)? != IPPROTO_TCP {
        return Some(0);
    }
    let newstate = ctx.arg::<u64>(2) as i32;

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
        return Some(0);
    }

    let Some(birth) = BIRTHS.get_ptr(&sk) else { return Some(0) };
    let Some(event) = SCRATCH.get_ptr_mut(0) else { return Some(0) };
    unsafe {
        let e = &mut *event;
        e.pid = (*birth).pid;
        copy16(e.comm.as_mut_ptr(), (*birth).comm.as_ptr());
        e.duration_ns = bpf_ktime_get_ns() - (*birth).start_ns;
        e.family = field_at(sk, &SK_FAMILY_OFFSET)?;
        // The record has the ports in host byte order.
        e.sport = u16::from_be(field_at(sk, &SK_SPORT_OFFSET)?);
        e.dport = u16::from_be(field_at(sk, &SK_DPORT_OFFSET)?);
        if e.family == AF_INET {
            // The IPv4 address, then zeros to 16 bytes. Volatile u32 stores (the fields are
            // 4-aligned), so LLVM does not merge them into a memset bpf-linker cannot link.
            let (s, d) = (e.saddr.as_mut_ptr() as *mut u32, e.daddr.as_mut_ptr() as *mut u32);
            s.write_volatile(field_at::<u32>(sk, &SK_SADDR_OFFSET)?);
            d.write_volatile(field_at::<u32>(sk, &SK_DADDR_OFFSET)?);
            for i in 1..4 {
                s.add(i).write_volatile(0);
                d.add(i).write_volatile(0);
            }
        } else {
            // Straight into the event: no 16-byte temporaries (bpf-linker has no memcpy).
            let (saddr, daddr) = (core::ptr::read_volatile(&SK_SADDR_V6_OFFSET), core::ptr::read_volatile(&SK_DADDR_V6_OFFSET));
            generated::bpf_probe_read_kernel(e.saddr.as_mut_ptr().cast(), 16, (sk + u64::from(saddr)) as *const _);
            generated::bpf_probe_read_kernel(e.daddr.as_mut_ptr().cast(), 16, (sk + u64::from(daddr)) as *const _);
        }
        e.rx_bytes = read_u64(sk, core::ptr::read_volatile(&TCP_BYTES_RECEIVED_OFFSET));
        e.tx_bytes = read_u64(sk, core::ptr::read_volatile(&TCP_BYTES_ACKED_OFFSET));
        output_or_count_drop(&EVENTS, &DROPS, &*event);
    }
    let _ = BIRTHS.remove(&sk);
    Some(0)
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
    aya_node_ebpf::kernel::field(sk, offset).unwrap_or(0)
}

aya_node_ebpf::object_support!("Dual MIT/GPL");

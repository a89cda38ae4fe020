//! A tracepoint on `sched/sched_process_exec`: counts executions per uid in `COUNTS` and sends
//! one `Event` per execution through the `EVENTS` ring buffer.
#![no_std]
#![no_main]

use aya_ebpf::{
    helpers::{bpf_get_current_pid_tgid, bpf_get_current_uid_gid, generated},
    macros::{map, tracepoint},
    maps::{HashMap, RingBuf},
    programs::TracePointContext,
};
use common::{Event, COMM_LEN};

/// Only executions by this process id are reported when it is not 0 (set by user space
/// before load, see `globals` in src/index.ts).
#[unsafe(no_mangle)]
static TARGET_PID: u32 = 0;

#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(256 * 1024, 0);
#[map]
static COUNTS: HashMap<u32, u64> = HashMap::with_max_entries(1024, 0);

#[tracepoint]
pub fn {{crate}}(_ctx: TracePointContext) -> u32 {
    let pid = (bpf_get_current_pid_tgid() >> 32) as u32;
    // read_volatile: the compiler must not fold the global into its initial value.
    let target = unsafe { core::ptr::read_volatile(&TARGET_PID) };
    if target != 0 && pid != target {
        return 0;
    }
    let uid = bpf_get_current_uid_gid() as u32;
    let count = match unsafe { COUNTS.get(&uid) } {
        Some(n) => *n + 1,
        None => 1,
    };
    let _ = COUNTS.insert(&uid, &count, 0);
    if let Some(mut entry) = EVENTS.reserve::<Event>(0) {
        // Fill the reserved slot in place: building an `Event` on the stack and copying it
        // would need `memset`/`memcpy` calls, which eBPF does not have.
        let event = entry.as_mut_ptr();
        unsafe {
            (*event).pid = pid;
            (*event).uid = uid;
            (*event).count = count;
            // The raw helper writes straight into the slot and NUL-terminates the name.
            generated::bpf_get_current_comm((*event).comm.as_mut_ptr().cast(), COMM_LEN as u32);
        }
        entry.submit(0);
    }
    0
}

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}

/// The kernel lets only GPL-compatible programs call some helpers.
#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 4] = *b"GPL\0";

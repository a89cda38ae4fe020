//! cgroup_sysctl: refuses reads and writes of the sysctl whose base name is `DENY_NAME` (e.g.
//! `hostname` for /proc/sys/kernel/hostname) to processes of the cgroup, which get EPERM, and
//! reports each one; every other sysctl is allowed.
#![no_std]
#![no_main]

use aya_ebpf::{
    bindings::BPF_F_SYSCTL_BASE_NAME,
    helpers::generated::bpf_sysctl_get_name,
    macros::{cgroup_sysctl, map},
    maps::RingBuf,
    programs::SysctlContext,
};
use aya_node_ebpf::test_event::{current_tgid, emit};

/// The base name to refuse, NUL-padded (15 characters at most).
#[unsafe(no_mangle)]
static DENY_NAME: [u8; 16] = [0; 16];

#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(64 * 1024, 0);

#[cgroup_sysctl]
pub fn deny_sysctl(ctx: SysctlContext) -> i32 {
    // Two words, zeroed by volatile stores (plain ones are merged into an unsupported memset);
    // the helper does not pad the name with NULs.
    let mut buf = core::mem::MaybeUninit::<[u64; 2]>::uninit();
    let words = buf.as_mut_ptr().cast::<u64>();
    unsafe {
        core::ptr::write_volatile(words, 0);
        core::ptr::write_volatile(words.add(1), 0);
    }
    let len = unsafe { bpf_sysctl_get_name(ctx.sysctl, words.cast(), 16, BPF_F_SYSCTL_BASE_NAME as u64) };
    if len < 0 {
        return 1; // longer than DENY_NAME can be: not the one
    }
    let deny: [u64; 2] = unsafe { core::ptr::read_volatile(DENY_NAME.as_ptr().cast()) };
    let name = unsafe { buf.assume_init() };
    if name[0] == deny[0] && name[1] == deny[1] {
        emit(&EVENTS, current_tgid(), 0, unsafe { (*ctx.sysctl).write } as i64);
        return 0;
    }
    1
}

aya_node_ebpf::object_support!();

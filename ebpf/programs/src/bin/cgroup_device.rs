//! cgroup_device: refuses processes of the cgroup access to the character device
//! `DENY_MAJOR:DENY_MINOR` (open or mknod fails with EPERM), reporting each attempt; every
//! other device is allowed.
#![no_std]
#![no_main]

use aya_ebpf::{
    macros::{cgroup_device, map},
    maps::RingBuf,
    programs::DeviceContext,
};
use aya_node_ebpf::test_event::{current_tgid, emit};

#[unsafe(no_mangle)]
static DENY_MAJOR: u32 = 0;
#[unsafe(no_mangle)]
static DENY_MINOR: u32 = 0;

#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(64 * 1024, 0);

/// `access_type` holds the device type in its low 16 bits and the access (mknod 1, read 2,
/// write 4) in its high 16 bits.
const DEVICE_CHAR: u32 = 2;

#[cgroup_device]
pub fn deny_char_device(ctx: DeviceContext) -> i32 {
    let device = unsafe { &*ctx.device };
    let is_char = device.access_type & 0xffff == DEVICE_CHAR;
    let denied = unsafe { core::ptr::read_volatile(&DENY_MAJOR) == device.major && core::ptr::read_volatile(&DENY_MINOR) == device.minor };
    if is_char && denied {
        emit(&EVENTS, current_tgid(), device.access_type >> 16, device.minor as i64);
        return 0;
    }
    1
}

aya_node_ebpf::object_support!();

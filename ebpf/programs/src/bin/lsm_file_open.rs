//! LSM `file_open`: denies opening the inode `TARGET_INO` with EPERM, reporting who tried.
//! Offsets of `file.f_inode` and `inode.i_ino` come from the kernel's BTF through globals
//! (Rust eBPF objects carry no CO-RE relocations).
#![no_std]
#![no_main]

use aya_ebpf::{helpers::bpf_probe_read_kernel, macros::{lsm, map}, maps::RingBuf, programs::LsmContext};
use aya_node_ebpf::test_event::{current_tgid, emit};

#[unsafe(no_mangle)]
static TARGET_INO: u64 = 0;
#[unsafe(no_mangle)]
static FILE_INODE_OFFSET: u32 = 0;
#[unsafe(no_mangle)]
static INODE_INO_OFFSET: u32 = 0;

#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(64 * 1024, 0);

const EPERM: i32 = 1;

#[lsm(hook = "file_open")]
pub fn deny_file_open(ctx: LsmContext) -> i32 {
    // file_open(struct file *file, int ret): a previous hook's denial stands.
    let previous: i32 = ctx.arg(1);
    if previous != 0 {
        return previous;
    }
    let file: *const u8 = ctx.arg(0);
    match inode_number(file) {
        Some(ino) if ino == unsafe { core::ptr::read_volatile(&TARGET_INO) } => {
            emit(&EVENTS, current_tgid(), 0, ino as i64);
            -EPERM
        }
        _ => 0,
    }
}

fn inode_number(file: *const u8) -> Option<u64> {
    let f_inode = unsafe { core::ptr::read_volatile(&FILE_INODE_OFFSET) } as usize;
    let i_ino = unsafe { core::ptr::read_volatile(&INODE_INO_OFFSET) } as usize;
    if f_inode == 0 {
        return None;
    }
    unsafe {
        let inode = bpf_probe_read_kernel(file.add(f_inode) as *const *const u8).ok()?;
        bpf_probe_read_kernel(inode.add(i_ino) as *const u64).ok()
    }
}

aya_node_ebpf::object_support!();

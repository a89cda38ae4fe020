//! A program the verifier must reject: it reads packet memory without checking `data_end`.
//! The loader tests use it to check the verifier error (its log, program name and errno).
#![no_std]
#![no_main]

use aya_ebpf::{macros::xdp, programs::XdpContext};

#[xdp]
pub fn bad_read(ctx: XdpContext) -> u32 {
    // Deliberately no bounds check: "invalid access to packet".
    let byte = (ctx.data() + 64) as *const u8;
    unsafe { core::ptr::read_volatile(byte) as u32 }
}

aya_node_ebpf::object_support!("Dual MIT/GPL");

//! Types shared between the eBPF programs in `ebpf/` and the user-space core.
//!
//! Everything here is `#[repr(C)]` so that the TypeScript codecs in `src/codec.ts`
//! can describe the same bytes.
#![no_std]

pub mod execsnoop;
pub mod histogram;
pub mod opensnoop;
pub mod streams;
pub mod tcplife;
pub mod usdt;

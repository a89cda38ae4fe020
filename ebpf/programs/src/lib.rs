//! Helpers shared by the eBPF programs under `src/bin/` (each binary is one object file),
//! and usable by users' own aya-ebpf programs.
#![no_std]

pub mod ring;
pub mod test_event;
pub mod packet;
pub mod usdt;


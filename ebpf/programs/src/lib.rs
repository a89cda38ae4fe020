//! Helpers shared by the eBPF programs under `src/bin/`; each binary is one object file.
#![no_std]
pub mod test_event;
pub mod packet;

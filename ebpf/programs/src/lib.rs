//! Helpers shared by the eBPF programs under `src/bin/` (each binary is one object file),
//! and usable by users' own aya-ebpf programs.
#![no_std]

pub mod ring;
pub mod test_event;
pub mod packet;
pub mod usdt;
pub mod syscall;
pub mod kernel;

/// The two items every eBPF object of this crate needs, in one place: a panic handler (the
/// verifier rejects any path that could reach it, so it never runs) and the `license` section
/// the kernel checks GPL-only helpers against. `object_support!()` is GPL;
/// `object_support!("Dual MIT/GPL")` names another license.
#[macro_export]
macro_rules! object_support {
    () => {
        $crate::object_support!("GPL");
    };
    ($license:literal) => {
        #[panic_handler]
        fn panic(_info: &core::panic::PanicInfo) -> ! {
            loop {}
        }

        #[unsafe(link_section = "license")]
        #[unsafe(no_mangle)]
        static LICENSE: [u8; $license.len() + 1] = $crate::nul_terminated($license);
    };
}

/// `text` and a NUL, as a byte array of `N` = `text.len() + 1` (for [`object_support!`]).
pub const fn nul_terminated<const N: usize>(text: &str) -> [u8; N] {
    let bytes = text.as_bytes();
    let mut out = [0u8; N];
    let mut i = 0;
    while i < bytes.len() && i + 1 < N {
        out[i] = bytes[i];
        i += 1;
    }
    out
}

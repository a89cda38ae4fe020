//! USDT probe arguments as user space parsed them from a probe's `.note.stapsdt` argument
//! spec (e.g. `-4@%edi`, `8@-16(%rbp)`, `8@[sp, 16]`), so an eBPF program can fetch them.
//! User space stores one `UsdtSpec` per attached probe site in a hash map keyed by the id it
//! also gives the attachment as its BPF cookie; the program looks its spec up by
//! `bpf_get_attach_cookie()`.

/// Arguments a spec holds at most (sys/sdt.h allows 12).
pub const USDT_MAX_ARGS: usize = 12;

/// `UsdtArg::kind`: the value is `val_off` itself (`$5` on x86, `5` on arm64).
pub const USDT_ARG_CONST: u8 = 0;
/// `UsdtArg::kind`: the value is in the register at `reg_off` of `pt_regs`.
pub const USDT_ARG_REG: u8 = 1;
/// `UsdtArg::kind`: the value is in user memory at register + `val_off`.
pub const USDT_ARG_REG_DEREF: u8 = 2;

/// Where one argument is and how wide.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct UsdtArg {
    /// The constant, or the displacement added to the register for memory arguments.
    pub val_off: i64,
    /// `USDT_ARG_CONST`, `USDT_ARG_REG` or `USDT_ARG_REG_DEREF`.
    pub kind: u8,
    /// 1 when the value is signed (the spec's size is negative): sign-extended to 64 bits.
    pub signed: u8,
    /// Width in bytes: 1, 2, 4 or 8.
    pub size: u8,
    pub _pad: u8,
    /// Byte offset of the register in the architecture's `struct pt_regs`.
    pub reg_off: u16,
    pub _pad2: u16,
}

/// The arguments of one probe site.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct UsdtSpec {
    pub args: [UsdtArg; USDT_MAX_ARGS],
    pub arg_count: u32,
    pub _pad: u32,
    /// A value of the caller's choosing, passed through (`Usdt.attach({ cookie })`).
    pub user_cookie: u64,
}

/// Keeps the low `size` bytes of `raw` (little-endian: the value as the spec sizes it),
/// sign-extending to 64 bits when `signed`.
#[inline(always)]
pub fn extend(raw: u64, size: u8, signed: bool) -> u64 {
    let shift = match size {
        1 => 56,
        2 => 48,
        4 => 32,
        _ => 0,
    };
    if shift == 0 {
        raw
    } else if signed {
        (((raw << shift) as i64) >> shift) as u64
    } else {
        (raw << shift) >> shift
    }
}

#[cfg(test)]
mod tests {
    use super::extend;

    #[test]
    fn sizes_and_signs() {
        // A register holding -2 as a 32-bit value (upper half garbage, as after `mov %edi`).
        let reg = 0xdead_beef_ffff_fffe_u64;
        assert_eq!(extend(reg, 4, true) as i64, -2);
        assert_eq!(extend(reg, 4, false), 0xffff_fffe);
        assert_eq!(extend(reg, 2, true) as i64, -2);
        assert_eq!(extend(reg, 1, false), 0xfe);
        assert_eq!(extend(reg, 8, false), reg);
        assert_eq!(extend(0x7f, 1, true), 0x7f);
        assert_eq!(extend(0x80, 1, true) as i64, -128);
    }

    #[test]
    fn layout_matches_the_typescript_codec() {
        assert_eq!(core::mem::size_of::<super::UsdtArg>(), 16);
        assert_eq!(core::mem::size_of::<super::UsdtSpec>(), 16 * super::USDT_MAX_ARGS + 16);
    }
}

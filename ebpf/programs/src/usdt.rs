//! Reading USDT probe arguments from a `#[uprobe]` program attached by `Usdt.attach()` in
//! TypeScript. User space parses each probe site's argument spec from `.note.stapsdt`,
//! stores it in the program's spec map (a `HashMap<u32, UsdtSpec>`, `USDT_SPECS` unless told
//! otherwise) under the id it gives the attachment as BPF cookie, so:
//!
//! ```ignore
//! #[map]
//! static USDT_SPECS: HashMap<u32, UsdtSpec> = HashMap::with_max_entries(256, 0);
//!
//! #[uprobe]
//! pub fn on_probe(ctx: ProbeContext) -> u32 {
//!     let Some(spec) = aya_node_ebpf::usdt::spec(&ctx, &USDT_SPECS) else { return 0 };
//!     let first: u64 = spec.arg(&ctx, 0).unwrap_or(0);
//!     0
//! }
//! ```

use aya_ebpf::{
    helpers::{bpf_probe_read_kernel, bpf_probe_read_user, generated::bpf_get_attach_cookie},
    maps::HashMap,
    programs::ProbeContext,
    EbpfContext,
};
pub use aya_node_common::usdt::{extend, UsdtArg, UsdtSpec, USDT_MAX_ARGS};
use aya_node_common::usdt::{USDT_ARG_CONST, USDT_ARG_REG, USDT_ARG_REG_DEREF};

/// The spec of the probe site that fired (found by the attachment's cookie).
#[inline(always)]
pub fn spec<'a>(ctx: &ProbeContext, specs: &'a HashMap<u32, UsdtSpec>) -> Option<&'a UsdtSpec> {
    let cookie = unsafe { bpf_get_attach_cookie(ctx.as_ptr()) };
    unsafe { specs.get(&(cookie as u32)) }
}

/// Errors of `UsdtSpec::arg`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UsdtError {
    /// The probe has fewer arguments.
    NoSuchArg,
    /// A kind this version does not know.
    BadSpec,
    /// The register or the memory could not be read (the helper's error).
    Read(i32),
}

/// Argument `n` of the probe, zero- or sign-extended to 64 bits as its spec says.
pub trait UsdtArgs {
    fn arg(&self, ctx: &ProbeContext, n: usize) -> Result<u64, UsdtError>;
    fn arg_count(&self) -> usize;
}

impl UsdtArgs for UsdtSpec {
    #[inline(always)]
    fn arg(&self, ctx: &ProbeContext, n: usize) -> Result<u64, UsdtError> {
        if n >= USDT_MAX_ARGS || n >= self.arg_count as usize {
            return Err(UsdtError::NoSuchArg);
        }
        let a: &UsdtArg = &self.args[n];
        let raw: u64 = match a.kind {
            USDT_ARG_CONST => a.val_off as u64,
            USDT_ARG_REG => read_reg(ctx, a.reg_off)?,
            USDT_ARG_REG_DEREF => {
                let base = read_reg(ctx, a.reg_off)?;
                let addr = base.wrapping_add(a.val_off as u64);
                unsafe { bpf_probe_read_user(addr as *const u64) }.map_err(|e| UsdtError::Read(e as i32))?
            }
            _ => return Err(UsdtError::BadSpec),
        };
        Ok(extend(raw, a.size, a.signed != 0))
    }

    #[inline(always)]
    fn arg_count(&self) -> usize {
        self.arg_count as usize
    }
}

/// The register at byte offset `off` of the `pt_regs` the probe saw.
#[inline(always)]
fn read_reg(ctx: &ProbeContext, off: u16) -> Result<u64, UsdtError> {
    // A variable offset into the context can only be read through the helper.
    let at = unsafe { (ctx.regs as *const u8).add((off & 0x1ff) as usize) } as *const u64;
    unsafe { bpf_probe_read_kernel(at) }.map_err(|e| UsdtError::Read(e as i32))
}

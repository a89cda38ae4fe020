//! uprobes and uretprobes: probes on functions of user-space binaries and libraries.

use std::num::NonZeroU32;

use aya::programs::uprobe::{UProbeAttachLocation, UProbeScope};
use napi_derive::napi;

use crate::{
    error::{AyaContext, Code, NodeError},
    link::Link,
    object::EbpfObject,
    programs::attach::load_and_attach,
};

#[napi(object)]
pub struct UProbeTarget {
    /// A path to an executable or library, or a library name such as `libc` (resolved through
    /// /etc/ld.so.cache, or through the maps of `pid` when given).
    pub target: String,
    /// The function's symbol; `offset` is then relative to it.
    pub symbol: Option<String>,
    /// Byte offset: from the symbol, or in the file when there is no symbol.
    pub offset: Option<i64>,
    /// Only this process; all processes when absent.
    pub pid: Option<u32>,
}

#[napi]
impl EbpfObject {
    /// Loads the uprobe/uretprobe program `program` (if not loaded yet) and attaches it.
    #[napi]
    pub fn attach_uprobe(&self, program: String, at: UProbeTarget) -> napi::Result<Link> {
        let offset = u64::try_from(at.offset.unwrap_or(0))
            .map_err(|_| NodeError::new(Code::InvalidArgument, "uprobe offset must not be negative"))?;
        let location = match &at.symbol {
            Some(symbol) => UProbeAttachLocation::SymbolOffset(symbol, offset),
            None if at.offset.is_some() => UProbeAttachLocation::AbsoluteOffset(offset),
            None => return Err(NodeError::new(Code::InvalidArgument, "a uprobe needs a symbol or an offset").into()),
        };
        let scope = match at.pid {
            None => UProbeScope::AllProcesses,
            Some(pid) => UProbeScope::OneProcess(
                NonZeroU32::new(pid).ok_or_else(|| NodeError::new(Code::InvalidArgument, "pid 0 is not a process"))?,
            ),
        };
        let what = match &at.symbol {
            Some(symbol) => format!("{}:{symbol}+{offset}", at.target),
            None => format!("{}+{offset}", at.target),
        };
        let link = load_and_attach!(self, program, UProbe, "uprobe", |prog| prog
            .attach(location, &at.target, scope)
            .context(|| format!("attaching `{program}` to {what}"))
            .map_err(|e| uprobe_not_found(e, &at))?);
        Ok(self.link("uprobe", Box::new(link)))
    }
}

/// A missing binary, library or symbol is a NOT_FOUND error.
fn uprobe_not_found(mut err: NodeError, at: &UProbeTarget) -> NodeError {
    let missing_symbol = err.message.contains("error resolving symbol");
    let missing_target = err.message.contains("could not resolve uprobe target") || err.errno == Some(libc::ENOENT);
    if missing_symbol {
        err.code = Code::NotFound;
        err.message = format!(
            "no symbol `{}` in {}: {}",
            at.symbol.as_deref().unwrap_or(""),
            at.target,
            err.message
        );
    } else if missing_target {
        err.code = Code::NotFound;
        err.message = format!("no binary or library `{}`: {}", at.target, err.message);
    }
    err
}

//! Stack trace maps (`BPF_MAP_TYPE_STACK_TRACE`): a value is up to 127 instruction pointers,
//! zero-terminated. Kernel addresses resolve to symbols through `/proc/kallsyms`.

use std::sync::Mutex;

use napi::bindgen_prelude::BigInt;
use napi_derive::napi;

use super::handle::{borrow, MapHandle};
use crate::sys::map as sys;
use crate::error::{Code, NodeError, Result};

#[napi(object)]
pub struct KernelSymbol {
    pub name: String,
    /// Where the symbol starts.
    pub address: BigInt,
    /// How far into the symbol the address is.
    pub offset: BigInt,
    /// The module that holds it, or null for the kernel image.
    pub module: Option<String>,
}

struct Symbols {
    /// (address, name, module), sorted by address.
    entries: Vec<(u64, String, Option<String>)>,
}

fn read_kallsyms() -> Result<Symbols> {
    let text = std::fs::read_to_string("/proc/kallsyms").map_err(|e| NodeError::syscall("open(/proc/kallsyms)", e))?;
    let mut entries = Vec::new();
    for line in text.lines() {
        let mut parts = line.split_whitespace();
        let (Some(addr), Some(kind), Some(name)) = (parts.next(), parts.next(), parts.next()) else { continue };
        // Text symbols only: stacks hold code addresses.
        if !matches!(kind, "t" | "T" | "w" | "W") {
            continue;
        }
        let Ok(addr) = u64::from_str_radix(addr, 16) else { continue };
        let module = parts.next().map(|m| m.trim_matches(|c| c == '[' || c == ']').to_string());
        entries.push((addr, name.to_string(), module));
    }
    if entries.iter().all(|e| e.0 == 0) {
        return Err(NodeError::new(
            Code::Permission,
            "/proc/kallsyms shows no addresses (kptr_restrict); resolving kernel symbols needs root",
        ));
    }
    entries.sort_by_key(|e| e.0);
    Ok(Symbols { entries })
}

static SYMBOLS: Mutex<Option<Symbols>> = Mutex::new(None);

/// Resolves kernel addresses to symbols (null for an address below every symbol).
/// `reload` rereads /proc/kallsyms (after modules were loaded).
#[napi]
pub fn resolve_kernel_addresses(addresses: Vec<BigInt>, reload: Option<bool>) -> napi::Result<Vec<Option<KernelSymbol>>> {
    let mut cache = SYMBOLS.lock().unwrap_or_else(|p| p.into_inner());
    if cache.is_none() || reload == Some(true) {
        *cache = Some(read_kallsyms()?);
    }
    let Some(symbols) = cache.as_ref() else { return Ok(Vec::new()) };
    Ok(addresses
        .iter()
        .map(|a| {
            let addr = a.get_u64().1;
            let i = symbols.entries.partition_point(|e| e.0 <= addr);
            let (start, name, module) = symbols.entries.get(i.checked_sub(1)?)?;
            Some(KernelSymbol {
                name: name.clone(),
                address: BigInt::from(*start),
                offset: BigInt::from(addr - start),
                module: module.clone(),
            })
        })
        .collect())
}

#[napi]
impl MapHandle {
    /// The instruction pointers of stack `stack_id`, innermost first, or null if absent.
    #[napi]
    pub fn stack_trace(&self, stack_id: u32) -> napi::Result<Option<Vec<BigInt>>> {
        let key = stack_id.to_ne_bytes();
        self.check_key(&key)?;
        let mut value = vec![0u8; self.user_value_size];
        let guard = self.fd()?;
        if !sys::lookup(borrow(&guard)?, Some(&key), &mut value, 0).map_err(NodeError::from)? {
            return Ok(None);
        }
        Ok(Some(
            value
                .chunks_exact(8)
                .map(|c| u64::from_ne_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .take_while(|&ip| ip != 0)
                .map(BigInt::from)
                .collect(),
        ))
    }
}

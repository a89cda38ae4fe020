//! Readable names for mangled C++ (Itanium ABI) and Rust (legacy and v0) symbols, for the
//! stack symbolizer of the profile tools.

use napi_derive::napi;

use crate::error::{Code, NodeError};

/// Names per call at most, and the longest name demangled (longer ones come back as they are).
const MAX_NAMES: usize = 1_000_000;
const MAX_NAME_LEN: usize = 16 * 1024;

/// The demangled form of `name`, or `name` when it is not a mangled symbol we can read.
pub fn demangle_one(name: &str) -> String {
    if name.len() > MAX_NAME_LEN {
        return name.to_string();
    }
    // Rust first: legacy Rust symbols are also valid Itanium names, but read better this way
    // ({:#} leaves out the hash).
    if let Ok(rust) = rustc_demangle::try_demangle(name) {
        return format!("{rust:#}");
    }
    let itanium = name.strip_prefix('_').filter(|rest| rest.starts_with("_Z")).unwrap_or(name);
    if itanium.starts_with("_Z") {
        if let Ok(symbol) = cpp_demangle::Symbol::new(itanium) {
            if let Ok(text) = symbol.demangle() {
                return text;
            }
        }
    }
    name.to_string()
}

/// Demangles each name; names that are not mangled come back unchanged.
#[napi]
pub fn demangle_symbols(names: Vec<String>) -> napi::Result<Vec<String>> {
    if names.len() > MAX_NAMES {
        return Err(NodeError::new(Code::InvalidArgument, format!("demangle: at most {MAX_NAMES} names per call")).into());
    }
    // cpp_demangle is fuzzed, but a panic must never cross into Node.
    names
        .iter()
        .map(|n| {
            std::panic::catch_unwind(|| demangle_one(n))
                .map_err(|_| NodeError::new(Code::Parse, format!("demangling {n:?} failed")).into())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::demangle_one;

    #[test]
    fn itanium_cpp() {
        assert_eq!(demangle_one("_ZN4node5StartEiPPc"), "node::Start(int, char**)");
        assert_eq!(demangle_one("_ZNK2v88internal4Heap13SizeOfObjectsEv"), "v8::internal::Heap::SizeOfObjects() const");
    }

    #[test]
    fn rust_legacy_and_v0() {
        assert_eq!(demangle_one("_ZN4core3fmt5write17h0123456789abcdefE"), "core::fmt::write");
        assert_eq!(demangle_one("_RNvCs1234_7mycrate4main"), "mycrate::main");
    }

    #[test]
    fn plain_and_bad_names_unchanged() {
        assert_eq!(demangle_one("main"), "main");
        assert_eq!(demangle_one("_Z"), "_Z");
        assert_eq!(demangle_one("_ZN4node"), "_ZN4node");
    }
}

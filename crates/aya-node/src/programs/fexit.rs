//! fexit programs: run at the return of a kernel function, with its typed arguments
//! (BPF trampolines, no kprobes needed). Loaded for one function, so they attach to that one.

use napi_derive::napi;

use crate::{
    link::Link,
    object::EbpfObject,
    programs::attach::attach_btf_targeted,
};

#[napi]
impl EbpfObject {
    /// Loads the fexit program `program` for the kernel function `function` (found in the
    /// kernel's BTF) if not loaded yet, and attaches it.
    #[napi]
    pub fn attach_fexit(&self, program: String, target_function: String) -> napi::Result<Link> {
        attach_btf_targeted!(self, program, target_function, FExit, "fexit", "kernel function")
    }
}

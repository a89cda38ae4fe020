//! LSM programs: run at a Linux Security Module hook and may deny the action (needs `bpf` in
//! the kernel's active LSMs, /sys/kernel/security/lsm). Loaded for one hook.

use napi_derive::napi;

use crate::{
    link::Link,
    object::EbpfObject,
    programs::attach::attach_btf_targeted,
};

#[napi]
impl EbpfObject {
    /// Loads the LSM program `program` for the hook `hook` (e.g. `file_open`, found as
    /// `bpf_lsm_<hook>` in the kernel's BTF) if not loaded yet, and attaches it.
    #[napi]
    pub fn attach_lsm(&self, program: String, hook: String) -> napi::Result<Link> {
        attach_btf_targeted!(self, program, hook, Lsm, "lsm", "LSM hook")
    }
}

//! BTF-enabled tracepoints (`tp_btf/<name>`): typed tracepoint arguments. The program is loaded
//! for one tracepoint (its BTF id is part of the load), so it attaches to that one only.

use napi_derive::napi;

use crate::{
    link::Link,
    object::EbpfObject,
    programs::attach::attach_btf_targeted,
};

#[napi]
impl EbpfObject {
    /// Loads the tp_btf program `program` for the tracepoint `name` (e.g. `sys_enter`, looked up
    /// as `btf_trace_<name>` in the kernel's BTF) if not loaded yet, and attaches it.
    #[napi]
    pub fn attach_btf_trace_point(&self, program: String, name: String) -> napi::Result<Link> {
        attach_btf_targeted!(self, program, name, BtfTracePoint, "btf_tracepoint", "BTF tracepoint")
    }
}

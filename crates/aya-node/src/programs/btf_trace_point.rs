//! BTF-enabled tracepoints (`tp_btf/<name>`): typed tracepoint arguments. The program is loaded
//! for one tracepoint (its BTF id is part of the load), so it attaches to that one only.

use aya::programs::Program;
use napi_derive::napi;

use crate::{
    error::AyaContext,
    link::Link,
    object::{lock, EbpfObject},
    programs::support::{btf_target_error, kernel_btf, typed},
};

#[napi]
impl EbpfObject {
    /// Loads the tp_btf program `program` for the tracepoint `name` (e.g. `sys_enter`, looked up
    /// as `btf_trace_<name>` in the kernel's BTF) if not loaded yet, and attaches it.
    #[napi]
    pub fn attach_btf_trace_point(&self, program: String, name: String) -> napi::Result<Link> {
        let btf = kernel_btf()?;
        let link = {
            let mut state = lock(&self.state);
            let prog = typed(&mut state, &program, "btf_tracepoint", |p| match p {
                Program::BtfTracePoint(p) => Some(p),
                _ => None,
            })?;
            if prog.fd().is_err() {
                prog.load(&name, btf)
                    .context(|| format!("loading program `{program}` for BTF tracepoint {name}"))
                    .map_err(|e| btf_target_error(e, "BTF tracepoint", &name))?;
            }
            let id = prog.attach().context(|| format!("attaching `{program}` to BTF tracepoint {name}"))?;
            prog.take_link(id).context(|| format!("taking the link of `{program}`"))?
        };
        Ok(self.link("btf_tracepoint", Box::new(link)))
    }
}

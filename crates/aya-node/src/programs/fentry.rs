//! fentry programs: run at the entry of a kernel function, with its typed arguments
//! (BPF trampolines, no kprobes needed). Loaded for one function, so they attach to that one.

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
    /// Loads the fentry program `program` for the kernel function `function` (found in the
    /// kernel's BTF) if not loaded yet, and attaches it.
    #[napi]
    pub fn attach_fentry(&self, program: String, target_function: String) -> napi::Result<Link> {
        let btf = kernel_btf()?;
        let link = {
            let mut state = lock(&self.state);
            let prog = typed(&mut state, &program, "fentry", |p| match p {
                Program::FEntry(p) => Some(p),
                _ => None,
            })?;
            if prog.fd().is_err() {
                prog.load(&target_function, btf)
                    .context(|| format!("loading program `{program}` for fentry on {target_function}"))
                    .map_err(|e| btf_target_error(e, "kernel function", &target_function))?;
            }
            let id = prog.attach().context(|| format!("attaching `{program}` (fentry) to {target_function}"))?;
            prog.take_link(id).context(|| format!("taking the link of `{program}`"))?
        };
        Ok(self.link("fentry", Box::new(link)))
    }
}

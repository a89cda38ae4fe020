//! LSM programs: run at a Linux Security Module hook and may deny the action (needs `bpf` in
//! the kernel's active LSMs, /sys/kernel/security/lsm). Loaded for one hook.

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
    /// Loads the LSM program `program` for the hook `hook` (e.g. `file_open`, found as
    /// `bpf_lsm_<hook>` in the kernel's BTF) if not loaded yet, and attaches it.
    #[napi]
    pub fn attach_lsm(&self, program: String, hook: String) -> napi::Result<Link> {
        let btf = kernel_btf()?;
        let link = {
            let mut state = lock(&self.state);
            let prog = typed(&mut state, &program, "lsm", |p| match p {
                Program::Lsm(p) => Some(p),
                _ => None,
            })?;
            if prog.fd().is_err() {
                prog.load(&hook, btf)
                    .context(|| format!("loading program `{program}` for LSM hook {hook}"))
                    .map_err(|e| btf_target_error(e, "LSM hook", &hook))?;
            }
            let id = prog.attach().context(|| format!("attaching `{program}` to LSM hook {hook}"))?;
            prog.take_link(id).context(|| format!("taking the link of `{program}`"))?
        };
        Ok(self.link("lsm", Box::new(link)))
    }
}

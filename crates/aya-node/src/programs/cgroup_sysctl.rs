//! cgroup_sysctl programs: run when processes of a cgroup (v2) read or write a sysctl under
//! /proc/sys; they may refuse the access (EPERM) or change the value written.

use aya::programs::Program;
use napi_derive::napi;

use crate::{
    error::AyaContext,
    link::Link,
    object::{lock, EbpfObject},
    programs::support::{cgroup_attach_mode, open_cgroup, typed},
};

#[napi]
impl EbpfObject {
    /// Loads the cgroup_sysctl program `program` (if not loaded yet) and attaches it to the
    /// cgroup v2 directory `cgroup`.
    #[napi]
    pub fn attach_cgroup_sysctl(&self, program: String, cgroup: String, mode: Option<String>) -> napi::Result<Link> {
        let mode = cgroup_attach_mode(mode.as_deref())?;
        let cgroup_dir = open_cgroup(&cgroup)?;
        let link = {
            let mut state = lock(&self.state);
            let prog = typed(&mut state, &program, "cgroup_sysctl", |p| match p {
                Program::CgroupSysctl(p) => Some(p),
                _ => None,
            })?;
            if prog.fd().is_err() {
                prog.load().context(|| format!("loading program `{program}`"))?;
            }
            let id = prog.attach(&cgroup_dir, mode).context(|| format!("attaching `{program}` to cgroup {cgroup}"))?;
            prog.take_link(id).context(|| format!("taking the link of `{program}`"))?
        };
        Ok(self.link("cgroup_sysctl", Box::new(link)))
    }
}

//! cgroup_sockopt programs: run when processes of a cgroup (v2) call getsockopt or
//! setsockopt (fixed by the section, `cgroup/getsockopt` or `cgroup/setsockopt`); they may
//! refuse (EPERM) or rewrite the option.

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
    /// Loads the cgroup_sockopt program `program` (if not loaded yet) and attaches it to the
    /// cgroup v2 directory `cgroup`.
    #[napi]
    pub fn attach_cgroup_sockopt(&self, program: String, cgroup: String, mode: Option<String>) -> napi::Result<Link> {
        let mode = cgroup_attach_mode(mode.as_deref())?;
        let cgroup_dir = open_cgroup(&cgroup)?;
        let link = {
            let mut state = lock(&self.state);
            let prog = typed(&mut state, &program, "cgroup_sockopt", |p| match p {
                Program::CgroupSockopt(p) => Some(p),
                _ => None,
            })?;
            if prog.fd().is_err() {
                prog.load().context(|| format!("loading program `{program}`"))?;
            }
            let id = prog.attach(&cgroup_dir, mode).context(|| format!("attaching `{program}` to cgroup {cgroup}"))?;
            prog.take_link(id).context(|| format!("taking the link of `{program}`"))?
        };
        Ok(self.link("cgroup_sockopt", Box::new(link)))
    }
}

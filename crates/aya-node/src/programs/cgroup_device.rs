//! cgroup_device programs: run when processes of a cgroup (v2) open or mknod a device
//! node; they allow (1) or refuse (0, EPERM) by device type, major, minor and access.

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
    /// Loads the cgroup_device program `program` (if not loaded yet) and attaches it to the
    /// cgroup v2 directory `cgroup`.
    #[napi]
    pub fn attach_cgroup_device(&self, program: String, cgroup: String, mode: Option<String>) -> napi::Result<Link> {
        let mode = cgroup_attach_mode(mode.as_deref())?;
        let cgroup_dir = open_cgroup(&cgroup)?;
        let link = {
            let mut state = lock(&self.state);
            let prog = typed(&mut state, &program, "cgroup_device", |p| match p {
                Program::CgroupDevice(p) => Some(p),
                _ => None,
            })?;
            if prog.fd().is_err() {
                prog.load().context(|| format!("loading program `{program}`"))?;
            }
            let id = prog.attach(&cgroup_dir, mode).context(|| format!("attaching `{program}` to cgroup {cgroup}"))?;
            prog.take_link(id).context(|| format!("taking the link of `{program}`"))?
        };
        Ok(self.link("cgroup_device", Box::new(link)))
    }
}

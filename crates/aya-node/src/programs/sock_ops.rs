//! sock_ops programs: called on TCP events (connection established, retransmits, RTT, state
//! changes...) of the sockets of a cgroup (v2); they may set socket options or reply to the
//! kernel's questions (e.g. initial window), and can add sockets to socket maps.

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
    /// Loads the sock_ops program `program` (if not loaded yet) and attaches it to the cgroup
    /// v2 directory `cgroup`.
    #[napi]
    pub fn attach_sock_ops(&self, program: String, cgroup: String, mode: Option<String>) -> napi::Result<Link> {
        let mode = cgroup_attach_mode(mode.as_deref())?;
        let cgroup_dir = open_cgroup(&cgroup)?;
        let link = {
            let mut state = lock(&self.state);
            let prog = typed(&mut state, &program, "sock_ops", |p| match p {
                Program::SockOps(p) => Some(p),
                _ => None,
            })?;
            if prog.fd().is_err() {
                prog.load().context(|| format!("loading program `{program}`"))?;
            }
            let id = prog.attach(&cgroup_dir, mode).context(|| format!("attaching `{program}` to cgroup {cgroup}"))?;
            prog.take_link(id).context(|| format!("taking the link of `{program}`"))?
        };
        Ok(self.link("sock_ops", Box::new(link)))
    }
}

//! cgroup_skb programs: run on each packet that processes of a cgroup (v2) send or receive,
//! and allow (1) or deny (0) it.

use aya::programs::{cgroup_skb::CgroupSkbAttachType, Program};
use napi_derive::napi;

use crate::{
    error::{AyaContext, Code, NodeError},
    link::Link,
    object::{lock, EbpfObject},
    programs::support::{cgroup_attach_mode, open_cgroup, typed},
};

#[napi]
impl EbpfObject {
    /// Loads the cgroup_skb program `program` (if not loaded yet) and attaches it to the
    /// `direction` (`ingress`/`egress`) of the cgroup v2 directory `cgroup`.
    #[napi]
    pub fn attach_cgroup_skb(&self, program: String, cgroup: String, direction: String, mode: Option<String>) -> napi::Result<Link> {
        let attach_type = match direction.as_str() {
            "ingress" => CgroupSkbAttachType::Ingress,
            "egress" => CgroupSkbAttachType::Egress,
            other => {
                return Err(NodeError::new(Code::InvalidArgument, format!("unknown cgroup_skb direction `{other}` (expected ingress or egress)")).into())
            }
        };
        let mode = cgroup_attach_mode(mode.as_deref())?;
        let cgroup_dir = open_cgroup(&cgroup)?;
        let link = {
            let mut state = lock(&self.state);
            let prog = typed(&mut state, &program, "cgroup_skb", |p| match p {
                Program::CgroupSkb(p) => Some(p),
                _ => None,
            })?;
            if prog.fd().is_err() {
                prog.load().context(|| format!("loading program `{program}`"))?;
            }
            let id = prog
                .attach(&cgroup_dir, attach_type, mode)
                .context(|| format!("attaching `{program}` to {direction} of cgroup {cgroup}"))?;
            prog.take_link(id).context(|| format!("taking the link of `{program}`"))?
        };
        Ok(self.link("cgroup_skb", Box::new(link)))
    }
}

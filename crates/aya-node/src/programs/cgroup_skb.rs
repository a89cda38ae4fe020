//! cgroup_skb programs: run on each packet that processes of a cgroup (v2) send or receive,
//! and allow (1) or deny (0) it.

use aya::programs::cgroup_skb::CgroupSkbAttachType;
use napi_derive::napi;

use crate::{
    error::{AyaContext, Code, NodeError},
    link::Link,
    object::EbpfObject,
    programs::{
        attach::load_and_attach,
        target::{cgroup_attach_mode, open_cgroup},
    },
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
        let link = load_and_attach!(self, program, CgroupSkb, "cgroup_skb", |prog| prog
            .attach(&cgroup_dir, attach_type, mode)
            .context(|| format!("attaching `{program}` to {direction} of cgroup {cgroup}"))?);
        Ok(self.link("cgroup_skb", Box::new(link)))
    }
}

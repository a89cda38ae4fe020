//! flow_dissector programs: replace (or precede, with BPF_FLOW_DISSECTOR_CONTINUE) the
//! kernel's packet dissector in a network namespace: the flow keys they fill are what RPS,
//! fq_codel, bonding and others hash packets by.

use aya::programs::Program;
use napi_derive::napi;

use crate::{
    error::AyaContext,
    link::Link,
    object::{lock, EbpfObject},
    programs::support::{open_netns, typed},
};

#[napi]
impl EbpfObject {
    /// Loads the flow_dissector program `program` (if not loaded yet) and attaches it to the
    /// network namespace at `netns` (`/proc/self/ns/net`, `/run/netns/NAME`, ...).
    #[napi]
    pub fn attach_flow_dissector(&self, program: String, netns: String) -> napi::Result<Link> {
        let netns_file = open_netns(&netns)?;
        let link = {
            let mut state = lock(&self.state);
            let prog = typed(&mut state, &program, "flow_dissector", |p| match p {
                Program::FlowDissector(p) => Some(p),
                _ => None,
            })?;
            if prog.fd().is_err() {
                prog.load().context(|| format!("loading program `{program}`"))?;
            }
            let id = prog.attach(&netns_file).context(|| format!("attaching `{program}` to network namespace {netns}"))?;
            prog.take_link(id).context(|| format!("taking the link of `{program}`"))?
        };
        Ok(self.link("flow_dissector", Box::new(link)))
    }
}

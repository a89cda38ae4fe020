//! flow_dissector programs: replace (or precede, with BPF_FLOW_DISSECTOR_CONTINUE) the
//! kernel's packet dissector in a network namespace: the flow keys they fill are what RPS,
//! fq_codel, bonding and others hash packets by.

use napi_derive::napi;

use crate::{
    error::AyaContext,
    link::Link,
    object::EbpfObject,
    programs::{attach::load_and_attach, target::open_netns},
};

#[napi]
impl EbpfObject {
    /// Loads the flow_dissector program `program` (if not loaded yet) and attaches it to the
    /// network namespace at `netns` (`/proc/self/ns/net`, `/run/netns/NAME`, ...).
    #[napi]
    pub fn attach_flow_dissector(&self, program: String, netns: String) -> napi::Result<Link> {
        let netns_file = open_netns(&netns)?;
        let link = load_and_attach!(self, program, FlowDissector, "flow_dissector", |prog| prog
            .attach(&netns_file)
            .context(|| format!("attaching `{program}` to network namespace {netns}"))?);
        Ok(self.link("flow_dissector", Box::new(link)))
    }
}

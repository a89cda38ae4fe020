//! sk_lookup programs: run when a connection or datagram arrives in a network namespace,
//! before the kernel looks up its socket; they may pick the socket (bpf_sk_assign, e.g. from a
//! SOCKMAP), refuse (SK_DROP: the connect gets ECONNREFUSED) or let the lookup go on.

use napi_derive::napi;

use crate::{
    error::AyaContext,
    link::Link,
    object::EbpfObject,
    programs::{attach::load_and_attach, target::open_netns},
};

#[napi]
impl EbpfObject {
    /// Loads the sk_lookup program `program` (if not loaded yet) and attaches it to the
    /// network namespace at `netns` (`/proc/self/ns/net`, `/run/netns/NAME`, ...).
    #[napi]
    pub fn attach_sk_lookup(&self, program: String, netns: String) -> napi::Result<Link> {
        let netns_file = open_netns(&netns)?;
        let link = load_and_attach!(self, program, SkLookup, "sk_lookup", |prog| prog
            .attach(&netns_file)
            .context(|| format!("attaching `{program}` to network namespace {netns}"))?);
        Ok(self.link("sk_lookup", Box::new(link)))
    }
}

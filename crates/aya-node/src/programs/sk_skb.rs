//! sk_skb programs: run on the data that sockets in a sockmap/sockhash receive. A stream parser
//! cuts the byte stream into messages (returns each one's length); a stream verdict passes,
//! drops or redirects each message. Which of the two a program is comes from its section.

use aya::programs::Program;
use napi_derive::napi;

use crate::{
    error::AyaContext,
    link::Link,
    maps::handle::MapHandle,
    object::{lock, EbpfObject},
    programs::{sock_map_target::SockMapTarget, support::typed},
};

#[napi]
impl EbpfObject {
    /// Loads the sk_skb program `program` (if not loaded yet) and attaches it to the socket map
    /// `map` as its stream parser or stream verdict (whichever the program is). The kernel
    /// gives the program to sockets added to the map from then on.
    #[napi]
    pub fn attach_sk_skb(&self, program: String, map: &MapHandle) -> napi::Result<Link> {
        let target = SockMapTarget::new(map, &program)?;
        let link = {
            let mut state = lock(&self.state);
            let prog = typed(&mut state, &program, "sk_skb", |p| match p {
                Program::SkSkb(p) => Some(p),
                _ => None,
            })?;
            if prog.fd().is_err() {
                prog.load().context(|| format!("loading program `{program}`"))?;
            }
            let id = prog.attach(target.fd()).context(|| format!("attaching `{program}` to map {}", target.name))?;
            prog.take_link(id).context(|| format!("taking the link of `{program}`"))?
        };
        Ok(self.link("sk_skb", Box::new(link)))
    }
}

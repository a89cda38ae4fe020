//! sk_skb programs: run on the data that sockets in a sockmap/sockhash receive. A stream parser
//! cuts the byte stream into messages (returns each one's length); a stream verdict passes,
//! drops or redirects each message. Which of the two a program is comes from its section.

use napi_derive::napi;

use crate::{
    error::AyaContext,
    link::Link,
    maps::handle::MapHandle,
    object::EbpfObject,
    programs::{attach::load_and_attach, sock_map_target::SockMapTarget},
};

#[napi]
impl EbpfObject {
    /// Loads the sk_skb program `program` (if not loaded yet) and attaches it to the socket map
    /// `map` as its stream parser or stream verdict (whichever the program is). The kernel
    /// gives the program to sockets added to the map from then on.
    #[napi]
    pub fn attach_sk_skb(&self, program: String, map: &MapHandle) -> napi::Result<Link> {
        let target = SockMapTarget::new(map, &program)?;
        let link = load_and_attach!(self, program, SkSkb, "sk_skb", |prog| prog
            .attach(target.fd())
            .context(|| format!("attaching `{program}` to map {}", target.name))?);
        Ok(self.link("sk_skb", Box::new(link)))
    }
}

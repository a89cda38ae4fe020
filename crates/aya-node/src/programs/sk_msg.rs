//! sk_msg programs: run on each sendmsg() of the sockets in a sockmap/sockhash they are attached
//! to, and pass, drop (the sender gets EACCES) or redirect the message.

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
    /// Loads the sk_msg program `program` (if not loaded yet) and attaches it to the socket map
    /// `map` (BPF_SK_MSG_VERDICT). The kernel gives the program to sockets added to the map
    /// from then on.
    #[napi]
    pub fn attach_sk_msg(&self, program: String, map: &MapHandle) -> napi::Result<Link> {
        let target = SockMapTarget::new(map, &program)?;
        let link = load_and_attach!(self, program, SkMsg, "sk_msg", |prog| prog
            .attach(target.fd())
            .context(|| format!("attaching `{program}` to map {}", target.name))?);
        Ok(self.link("sk_msg", Box::new(link)))
    }
}

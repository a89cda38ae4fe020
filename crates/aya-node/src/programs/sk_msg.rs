//! sk_msg programs: run on each sendmsg() of the sockets in a sockmap/sockhash they are attached
//! to, and pass, drop (the sender gets EACCES) or redirect the message.

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
    /// Loads the sk_msg program `program` (if not loaded yet) and attaches it to the socket map
    /// `map` (BPF_SK_MSG_VERDICT). The kernel gives the program to sockets added to the map
    /// from then on.
    #[napi]
    pub fn attach_sk_msg(&self, program: String, map: &MapHandle) -> napi::Result<Link> {
        let target = SockMapTarget::new(map, &program)?;
        let link = {
            let mut state = lock(&self.state);
            let prog = typed(&mut state, &program, "sk_msg", |p| match p {
                Program::SkMsg(p) => Some(p),
                _ => None,
            })?;
            if prog.fd().is_err() {
                prog.load().context(|| format!("loading program `{program}`"))?;
            }
            let id = prog.attach(target.fd()).context(|| format!("attaching `{program}` to map {}", target.name))?;
            prog.take_link(id).context(|| format!("taking the link of `{program}`"))?
        };
        Ok(self.link("sk_msg", Box::new(link)))
    }
}

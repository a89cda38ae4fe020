//! XDP programs: run on each packet a network interface receives, before the kernel allocates
//! an skb; they may drop, pass, bounce or redirect it.

use aya::programs::xdp::XdpMode;
use napi::Either;
use napi_derive::napi;

use crate::{
    error::{AyaContext, Code, NodeError},
    link::Link,
    object::EbpfObject,
    link::netns::netns_link,
    programs::{
        attach::load_and_attach,
        target::{in_netns, interface_index, open_netns},
    },
};

fn xdp_mode(mode: Option<&str>) -> Result<XdpMode, NodeError> {
    match mode.unwrap_or("default") {
        "default" => Ok(XdpMode::Default),
        "skb" => Ok(XdpMode::Skb),
        "driver" => Ok(XdpMode::Driver),
        "hardware" => Ok(XdpMode::Hardware),
        other => Err(NodeError::new(
            Code::InvalidArgument,
            format!("unknown XDP mode `{other}` (expected default, skb, driver or hardware)"),
        )),
    }
}

#[napi]
impl EbpfObject {
    /// Loads the XDP program `program` (if not loaded yet) and attaches it to `interface` (a
    /// name or an index), inside the network namespace at `netns` when given.
    #[napi]
    pub fn attach_xdp(
        &self,
        program: String,
        interface: Either<String, u32>,
        mode: Option<String>,
        netns: Option<String>,
    ) -> napi::Result<Link> {
        let mode = xdp_mode(mode.as_deref())?;
        let shown = match &interface {
            Either::A(name) => name.clone(),
            Either::B(index) => format!("#{index}"),
        };
        let netns = netns.as_deref().map(open_netns).transpose()?;
        let link = load_and_attach!(self, program, Xdp, "xdp", |prog| in_netns(netns.as_ref(), || {
            let index = match &interface {
                Either::A(name) => interface_index(name)?,
                Either::B(index) => *index,
            };
            prog.attach_to_if_index(index, mode)
                .context(|| format!("attaching `{program}` (XDP, {mode:?} mode) to interface {shown}"))
                .map_err(|mut e| {
                    if e.errno == Some(libc::ENODEV) {
                        e.code = Code::NotFound;
                    }
                    e
                })
        })?);
        Ok(self.link("xdp", netns_link(netns, Box::new(link))))
    }
}

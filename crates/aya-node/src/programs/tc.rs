//! TC classifiers (`SchedClassifier`): run on packets entering or leaving an interface, with the
//! skb. Attached through TCX links where the kernel has them (6.6+), otherwise through a netlink
//! filter on a clsact qdisc (added when missing).

use aya::programs::{
    links::LinkOrder,
    tc::{self, NlOptions, TcAttachOptions, TcAttachType, TcError},
};
use napi::Either;
use napi_derive::napi;

use crate::{
    error::{AyaContext, Code, NodeError},
    link::Link,
    object::EbpfObject,
    link::netns::netns_link,
    programs::{
        attach::load_and_attach,
        target::{in_netns, interface_index, interface_name, open_netns},
    },
};

/// Whether the kernel has TCX (BPF_TCX_INGRESS/EGRESS links): Linux 6.6 and later.
fn kernel_has_tcx() -> bool {
    aya::util::KernelVersion::current().is_ok_and(|v| v >= aya::util::KernelVersion::new(6, 6, 0))
}

#[napi]
impl EbpfObject {
    /// Loads the classifier `program` (if not loaded yet) and attaches it to `direction`
    /// (`ingress`/`egress`) of `interface`, through `api` (`auto`, `tcx` or `netlink`), inside
    /// the network namespace at `netns` when given. Returns the API it used in the link's kind.
    #[napi]
    pub fn attach_tc(
        &self,
        program: String,
        interface: Either<String, u32>,
        direction: String,
        api: Option<String>,
        netns: Option<String>,
    ) -> napi::Result<Link> {
        let attach_type = match direction.as_str() {
            "ingress" => TcAttachType::Ingress,
            "egress" => TcAttachType::Egress,
            other => {
                return Err(NodeError::new(Code::InvalidArgument, format!("unknown TC direction `{other}` (expected ingress or egress)")).into())
            }
        };
        let use_tcx = match api.as_deref().unwrap_or("auto") {
            "auto" => kernel_has_tcx(),
            "tcx" => true,
            "netlink" => false,
            other => {
                return Err(NodeError::new(Code::InvalidArgument, format!("unknown TC API `{other}` (expected auto, tcx or netlink)")).into())
            }
        };
        let netns = netns.as_deref().map(open_netns).transpose()?;
        let link = load_and_attach!(self, program, SchedClassifier, "sched_cls", |prog| in_netns(netns.as_ref(), || {
            let name = match &interface {
                Either::A(name) => {
                    interface_index(name)?;
                    name.clone()
                }
                Either::B(index) => interface_name(*index)?,
            };
            let options = if use_tcx {
                TcAttachOptions::TcxOrder(LinkOrder::default())
            } else {
                // The netlink filter hangs off a clsact qdisc; one already there is fine.
                match tc::qdisc_add_clsact(&name) {
                    Ok(()) | Err(TcError::AlreadyAttached) => {}
                    Err(TcError::NetlinkError(e)) if e.raw_os_error() == Some(libc::EEXIST) => {}
                    Err(e) => return Err(e).context(|| format!("adding a clsact qdisc to {name}")),
                }
                TcAttachOptions::Netlink(NlOptions::default())
            };
            prog.attach_with_options(&name, attach_type, options).context(|| {
                format!("attaching `{program}` to {direction} of {name} via {}", if use_tcx { "TCX" } else { "netlink" })
            })
        })?);
        Ok(self.link(if use_tcx { "tcx" } else { "tc" }, netns_link(netns, Box::new(link))))
    }
}

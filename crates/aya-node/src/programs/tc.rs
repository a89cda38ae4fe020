//! TC classifiers (`SchedClassifier`): run on packets entering or leaving an interface, with the
//! skb. Attached through TCX links where the kernel has them (6.6+), otherwise through a netlink
//! filter on a clsact qdisc (added when missing).

use std::os::fd::AsRawFd;

use aya::programs::{
    links::LinkOrder,
    tc::{self, NlOptions, TcAttachOptions, TcAttachType, TcError},
    ProgramError,
};
use napi::Either;
use napi_derive::napi;

use crate::{
    error::{AyaContext, Code, NodeError},
    link::{ErasedLink, Link},
    object::EbpfObject,
    link::netns::netns_link,
    programs::{
        attach::load_and_attach,
        target::{in_netns, interface_index, interface_name, open_netns},
        tc_filter::{self, FilterAt, TcFilter},
    },
};

/// Whether the kernel has TCX (BPF_TCX_INGRESS/EGRESS links): Linux 6.6 and later.
fn kernel_has_tcx() -> bool {
    aya::util::KernelVersion::current().is_ok_and(|v| v >= aya::util::KernelVersion::new(6, 6, 0))
}

/// A netlink filter of ours: detached (also on drop) only while it still runs our program, so
/// that another tool's replacement at the same priority and handle survives our `close()`.
struct NetlinkFilterLink {
    at: Option<FilterAt>,
    program_id: u32,
}

impl NetlinkFilterLink {
    fn remove(&mut self) -> Result<(), ProgramError> {
        let Some(at) = self.at.take() else { return Ok(()) };
        tc_filter::remove_if_program(at, self.program_id)
            .map(|_| ())
            .map_err(|io_error| ProgramError::SyscallError(aya::sys::SyscallError { call: "netlink RTM_DELTFILTER", io_error }))
    }
}

impl ErasedLink for NetlinkFilterLink {
    fn detach(mut self: Box<Self>) -> Result<(), ProgramError> {
        self.remove()
    }
}

impl Drop for NetlinkFilterLink {
    fn drop(&mut self) {
        let _ = self.remove();
    }
}

#[napi]
impl EbpfObject {
    /// Loads the classifier `program` (if not loaded yet) and attaches it to `direction`
    /// (`ingress`/`egress`) of `interface`, through `api` (`auto`, `tcx` or `netlink`), inside
    /// the network namespace at `netns` when given. Returns the API it used in the link's kind;
    /// a netlink link carries its filter (`tcFilter`).
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
        let netns_inode = match &netns {
            Some(file) => Some(inode_of(file)?),
            None => None,
        };
        let mut filter: Option<TcFilter> = None;
        let link = load_and_attach!(self, program, SchedClassifier, "sched_cls", |prog| in_netns(netns.as_ref(), || {
            let (name, ifindex) = match &interface {
                Either::A(name) => (name.clone(), interface_index(name)?),
                Either::B(index) => (interface_name(*index)?, *index),
            };
            let options = if use_tcx {
                TcAttachOptions::TcxOrder(LinkOrder::default())
            } else {
                // The netlink filter hangs off a clsact qdisc; one already there is fine. One we
                // add stays after the filter goes, as with libbpf and tc (docs/programs.md).
                match tc::qdisc_add_clsact(&name) {
                    Ok(()) | Err(TcError::AlreadyAttached) => {}
                    Err(TcError::NetlinkError(e)) if e.raw_os_error() == Some(libc::EEXIST) => {}
                    Err(e) => return Err(e).context(|| format!("adding a clsact qdisc to {name}")),
                }
                let program_id = prog.info().context(|| format!("reading the id of `{program}`"))?.id();
                let parent = tc_filter::clsact_parent(matches!(attach_type, TcAttachType::Ingress));
                filter = Some(TcFilter { ifindex, parent, priority: 0, handle: 0, program_id, netns_inode });
                TcAttachOptions::Netlink(NlOptions::default())
            };
            prog.attach_with_options(&name, attach_type, options).context(|| {
                format!("attaching `{program}` to {direction} of {name} via {}", if use_tcx { "TCX" } else { "netlink" })
            })
        })?);
        let Some(mut filter) = filter else {
            return Ok(self.link("tcx", netns_link(netns, Box::new(link))));
        };
        // Our detach replaces Aya's (which deletes whatever sits at the priority and handle);
        // Aya's netlink link holds no fd, so forgetting it leaks nothing and detaches nothing.
        filter.priority = link.priority().map(u32::from).context(|| "reading the filter's priority".to_string())?;
        filter.handle = link.handle().map(u32::from).context(|| "reading the filter's handle".to_string())?;
        std::mem::forget(link);
        let at = FilterAt { ifindex: filter.ifindex, parent: filter.parent, priority: filter.priority as u16, handle: filter.handle };
        let ours = NetlinkFilterLink { at: Some(at), program_id: filter.program_id };
        Ok(self.link("tc", netns_link(netns, Box::new(ours))).with_tc_filter(filter))
    }
}

/// The inode of a namespace file: what identifies the namespace.
fn inode_of(file: &std::fs::File) -> crate::error::Result<f64> {
    // SAFETY: fstat into a zeroed stat of the right type.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(file.as_raw_fd(), &mut st) } != 0 {
        return Err(NodeError::syscall("fstat", std::io::Error::last_os_error()));
    }
    Ok(st.st_ino as f64)
}

//! sock_ops programs: called on TCP events (connection established, retransmits, RTT, state
//! changes...) of the sockets of a cgroup (v2); they may set socket options or reply to the
//! kernel's questions (e.g. initial window), and can add sockets to socket maps.

use napi_derive::napi;

use crate::{link::Link, object::EbpfObject, programs::attach::attach_to_cgroup};

#[napi]
impl EbpfObject {
    /// Loads the sock_ops program `program` (if not loaded yet) and attaches it to the cgroup
    /// v2 directory `cgroup`.
    #[napi]
    pub fn attach_sock_ops(&self, program: String, cgroup: String, mode: Option<String>) -> napi::Result<Link> {
        attach_to_cgroup!(self, program, cgroup, mode.as_deref(), SockOps, "sock_ops")
    }
}

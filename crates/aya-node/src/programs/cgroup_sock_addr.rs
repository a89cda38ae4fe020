//! cgroup_sock_addr programs: run when processes of a cgroup (v2) bind, connect, send to or
//! look up a socket address; they may rewrite it or refuse (EPERM). Which of these operations
//! is fixed by the program's section (`cgroup/connect4`, ...).

use napi_derive::napi;

use crate::{link::Link, object::EbpfObject, programs::attach::attach_to_cgroup};

#[napi]
impl EbpfObject {
    /// Loads the cgroup_sock_addr program `program` (if not loaded yet) and attaches it to the
    /// cgroup v2 directory `cgroup`.
    #[napi]
    pub fn attach_cgroup_sock_addr(&self, program: String, cgroup: String, mode: Option<String>) -> napi::Result<Link> {
        attach_to_cgroup!(self, program, cgroup, mode.as_deref(), CgroupSockAddr, "cgroup_sock_addr")
    }
}

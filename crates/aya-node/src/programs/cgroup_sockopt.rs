//! cgroup_sockopt programs: run when processes of a cgroup (v2) call getsockopt or
//! setsockopt (fixed by the section, `cgroup/getsockopt` or `cgroup/setsockopt`); they may
//! refuse (EPERM) or rewrite the option.

use napi_derive::napi;

use crate::{link::Link, object::EbpfObject, programs::attach::attach_to_cgroup};

#[napi]
impl EbpfObject {
    /// Loads the cgroup_sockopt program `program` (if not loaded yet) and attaches it to the
    /// cgroup v2 directory `cgroup`.
    #[napi]
    pub fn attach_cgroup_sockopt(&self, program: String, cgroup: String, mode: Option<String>) -> napi::Result<Link> {
        attach_to_cgroup!(self, program, cgroup, mode.as_deref(), CgroupSockopt, "cgroup_sockopt")
    }
}

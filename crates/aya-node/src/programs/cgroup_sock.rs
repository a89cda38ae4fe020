//! cgroup_sock programs: run when processes of a cgroup (v2) create, bind or release a
//! socket and may refuse (EPERM). Which of these is fixed by the program's section
//! (`cgroup/sock_create`, `cgroup/post_bind4`, ...).

use napi_derive::napi;

use crate::{link::Link, object::EbpfObject, programs::attach::attach_to_cgroup};

#[napi]
impl EbpfObject {
    /// Loads the cgroup_sock program `program` (if not loaded yet) and attaches it to the
    /// cgroup v2 directory `cgroup`.
    #[napi]
    pub fn attach_cgroup_sock(&self, program: String, cgroup: String, mode: Option<String>) -> napi::Result<Link> {
        attach_to_cgroup!(self, program, cgroup, mode.as_deref(), CgroupSock, "cgroup_sock")
    }
}

//! cgroup_sysctl programs: run when processes of a cgroup (v2) read or write a sysctl under
//! /proc/sys; they may refuse the access (EPERM) or change the value written.

use napi_derive::napi;

use crate::{link::Link, object::EbpfObject, programs::attach::attach_to_cgroup};

#[napi]
impl EbpfObject {
    /// Loads the cgroup_sysctl program `program` (if not loaded yet) and attaches it to the
    /// cgroup v2 directory `cgroup`.
    #[napi]
    pub fn attach_cgroup_sysctl(&self, program: String, cgroup: String, mode: Option<String>) -> napi::Result<Link> {
        attach_to_cgroup!(self, program, cgroup, mode.as_deref(), CgroupSysctl, "cgroup_sysctl")
    }
}

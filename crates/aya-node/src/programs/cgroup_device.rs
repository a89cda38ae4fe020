//! cgroup_device programs: run when processes of a cgroup (v2) open or mknod a device
//! node; they allow (1) or refuse (0, EPERM) by device type, major, minor and access.

use napi_derive::napi;

use crate::{link::Link, object::EbpfObject, programs::attach::attach_to_cgroup};

#[napi]
impl EbpfObject {
    /// Loads the cgroup_device program `program` (if not loaded yet) and attaches it to the
    /// cgroup v2 directory `cgroup`.
    #[napi]
    pub fn attach_cgroup_device(&self, program: String, cgroup: String, mode: Option<String>) -> napi::Result<Link> {
        attach_to_cgroup!(self, program, cgroup, mode.as_deref(), CgroupDevice, "cgroup_device")
    }
}

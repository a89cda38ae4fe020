//! A link made inside another network namespace, detached from inside it.

use std::fs::File;

use aya::programs::ProgramError;

use super::erased::ErasedLink;
use crate::programs::target::in_netns;

/// A link made inside another network namespace. Netlink-based links (TC filters, XDP on old
/// kernels) name their interface by index, so they must be detached from that namespace too,
/// including when the object is dropped without `close()`.
pub struct InNetnsLink {
    pub netns: File,
    pub link: Option<Box<dyn ErasedLink>>,
}

impl InNetnsLink {
    fn detach_inner(&mut self) -> std::result::Result<(), ProgramError> {
        let Some(link) = self.link.take() else {
            return Ok(());
        };
        let mut outcome = Ok(());
        let entered = in_netns(Some(&self.netns), || {
            outcome = link.detach();
            Ok(())
        });
        if let Err(e) = entered {
            return Err(ProgramError::SyscallError(aya::sys::SyscallError {
                call: "setns",
                io_error: std::io::Error::from_raw_os_error(e.errno.unwrap_or(libc::EINVAL)),
            }));
        }
        outcome
    }
}

impl ErasedLink for InNetnsLink {
    fn detach(mut self: Box<Self>) -> std::result::Result<(), ProgramError> {
        self.detach_inner()
    }
}

impl Drop for InNetnsLink {
    fn drop(&mut self) {
        let _ = self.detach_inner();
    }
}

/// Wraps `link` so that it is detached inside `netns` when it was made there.
pub fn netns_link(netns: Option<File>, link: Box<dyn ErasedLink>) -> Box<dyn ErasedLink> {
    match netns {
        Some(netns) => Box::new(InNetnsLink { netns, link: Some(link) }),
        None => link,
    }
}

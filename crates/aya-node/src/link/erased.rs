//! What the object's link registry holds: any of Aya's owned link types, or one of ours
//! (several links as one, a link made in another network namespace), with the type erased.

use aya::programs::ProgramError;

/// Any of Aya's owned link types, with the type erased.
pub trait ErasedLink: Send {
    fn detach(self: Box<Self>) -> Result<(), ProgramError>;

    /// The link's fd when it is an iterator's, from which each read starts a new iteration.
    fn iter_link_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        None
    }

    /// The BPF link's fd, for links aya-node makes itself (struct_ops registrations), to pin.
    fn bpf_link_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        None
    }
}

impl<T: aya::programs::Link + Send> ErasedLink for T {
    fn detach(self: Box<Self>) -> Result<(), ProgramError> {
        aya::programs::Link::detach(*self)
    }
}

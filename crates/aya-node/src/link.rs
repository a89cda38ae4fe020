//! Links: an attachment of a program to a hook. The aya link itself lives in the object's
//! registry (so closing the object detaches it); the JS `Link` is a handle to that entry.

use aya::programs::ProgramError;
use napi_derive::napi;

use crate::{
    error::{AyaContext, NodeError},
    object::{lock, SharedState},
};

/// Any of Aya's owned link types, with the type erased.
pub trait ErasedLink: Send {
    fn detach(self: Box<Self>) -> Result<(), ProgramError>;

    /// The link's fd when it is an iterator's, from which each read starts a new iteration.
    fn iter_link_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        None
    }
}

impl<T: aya::programs::Link + Send> ErasedLink for T {
    fn detach(self: Box<Self>) -> Result<(), ProgramError> {
        aya::programs::Link::detach(*self)
    }
}

#[napi]
pub struct Link {
    state: SharedState,
    id: u32,
    kind: &'static str,
}

impl Link {
    pub fn new(state: SharedState, id: u32, kind: &'static str) -> Self {
        Self { state, id, kind }
    }

    /// Its entry in the registry of `state`, when it belongs to that object.
    pub(crate) fn entry_in(&self, state: &SharedState) -> Option<u32> {
        std::sync::Arc::ptr_eq(&self.state, state).then_some(self.id)
    }
}

#[napi]
impl Link {
    /// The kind of hook this link attaches to, e.g. `tracepoint`.
    #[napi(getter)]
    pub fn kind(&self) -> String {
        self.kind.to_string()
    }

    /// Whether the link is still attached (false after `detach()` or the object's `close()`).
    #[napi(getter)]
    pub fn attached(&self) -> bool {
        lock(&self.state).links.contains_key(&self.id)
    }

    /// Detaches the program from the hook. Detaching twice is a no-op.
    #[napi]
    pub fn detach(&self) -> napi::Result<()> {
        let link = lock(&self.state).links.remove(&self.id);
        match link {
            Some(link) => Ok(link.detach().context(|| format!("detaching {} link", self.kind))?),
            None => Ok(()),
        }
    }
}

/// Builds the error for a program whose kind is not the one the caller asked for.
pub fn wrong_type(program: &str, wanted: &str, actual: &str) -> NodeError {
    NodeError::new(
        crate::error::Code::WrongType,
        format!("program `{program}` is a {actual} program, not a {wanted} program"),
    )
}

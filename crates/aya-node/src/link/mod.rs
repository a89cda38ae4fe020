//! Links: an attachment of a program to a hook. The aya link itself lives in the object's
//! registry (so closing the object detaches it); the JS `Link` is a handle to that entry.

use napi_derive::napi;

use crate::{
    error::AyaContext,
    object::{lock, EbpfObject, SharedState},
};

pub mod erased;
pub mod many;
pub mod netns;

pub use erased::ErasedLink;

#[napi]
pub struct Link {
    state: SharedState,
    id: u32,
    kind: &'static str,
    tc_filter: Option<crate::programs::tc_filter::TcFilter>,
}

impl Link {
    pub fn new(state: SharedState, id: u32, kind: &'static str) -> Self {
        Self { state, id, kind, tc_filter: None }
    }

    /// The same link, carrying the netlink TC filter it made.
    pub fn with_tc_filter(mut self, filter: crate::programs::tc_filter::TcFilter) -> Self {
        self.tc_filter = Some(filter);
        self
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

    /// The filter a netlink TC attachment made (`kind` `tc`); null for every other link.
    #[napi(getter)]
    pub fn tc_filter(&self) -> Option<crate::programs::tc_filter::TcFilter> {
        self.tc_filter.clone()
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

impl EbpfObject {
    /// Registers `link` with the object (so closing it detaches the link) and hands out its handle.
    pub(crate) fn link(&self, kind: &'static str, link: Box<dyn ErasedLink>) -> Link {
        let id = lock(&self.state).add_link(link);
        Link::new(self.state.clone(), id, kind)
    }
}

//! Pinning programs, maps and links to bpffs, and opening what is pinned there.
//!
//! A pinned object lives on after every fd to it is closed, until its file is removed
//! (`unpin`). Pin paths must be on a bpffs mount; that is checked first for a clear error.

use std::os::fd::{AsFd, OwnedFd};

use napi_derive::napi;

use crate::{
    error::{AyaContext, Code, NodeError, Result},
    fd::ClosableFd,
    object::{lock, EbpfObject},
    programs::load::ensure_loaded,
    sys,
};

#[napi]
impl EbpfObject {
    /// Pins the program `name` (loading it first if needed) at `path`.
    #[napi]
    pub fn pin_program(&self, name: String, path: String) -> napi::Result<()> {
        let mut state = lock(&self.state);
        let program = state.program(&name)?;
        ensure_loaded(program, &name)?;
        let fd = program.fd().context(|| format!("program `{name}`"))?;
        Ok(sys::pin_fd(fd.as_fd(), &path)?)
    }

    /// Pins the map `name` at `path`.
    #[napi]
    pub fn pin_map(&self, name: String, path: String) -> napi::Result<()> {
        let mut state = lock(&self.state);
        let map = state
            .ebpf()?
            .map(&name)
            .ok_or_else(|| NodeError::new(Code::NotFound, format!("no map named `{name}` in the object (or it was taken)")))?;
        Ok(sys::pin_fd(crate::kinds::map_data(map).fd().as_fd(), &path)?)
    }

    /// Pins the one link that attaches program `name` at `path`. The pinned link keeps the
    /// program attached after the object is closed, until it is unpinned.
    #[napi]
    pub fn pin_program_link(&self, name: String, path: String) -> napi::Result<()> {
        let prog_id = {
            let mut state = lock(&self.state);
            let program = state.program(&name)?;
            program.info().context(|| format!("program `{name}` (is it attached?)"))?.id()
        };
        let mut found: Vec<OwnedFd> = Vec::new();
        for id in sys::link_ids()? {
            let Some(fd) = sys::link_fd_by_id(id)? else { continue };
            if sys::link_info(fd.as_fd()).is_ok_and(|info| info.prog_id == prog_id) {
                found.push(fd);
            }
        }
        match found.as_slice() {
            [fd] => Ok(sys::pin_fd(fd.as_fd(), &path)?),
            [] => Err(NodeError::new(Code::NotFound, format!("program `{name}` has no link to pin (attach it first)")).into()),
            _ => Err(NodeError::new(
                Code::InvalidArgument,
                format!("program `{name}` has {} links; cannot tell which one to pin", found.len()),
            )
            .into()),
        }
    }
}

/// Removes the pin at `path` (the object goes away once nothing else holds it).
#[napi]
pub fn unpin(path: String) -> napi::Result<()> {
    sys::check_bpffs(&path)?;
    std::fs::remove_file(&path).map_err(|e| {
        let mut err = NodeError::syscall("unlink", e);
        if err.errno == Some(libc::ENOENT) {
            err.code = Code::NotFound;
        }
        err.message = format!("unpinning {path}: {}", err.message);
        err
    })?;
    Ok(())
}

/// An fd to a pinned program, map or link, opened from bpffs.
#[napi]
pub struct PinnedObject {
    fd: ClosableFd,
    kind: &'static str,
    id: u32,
    path: String,
}

fn fd_id(fd: &OwnedFd, kind: &str) -> u32 {
    let key = match kind {
        "program" => "prog_id",
        "map" => "map_id",
        "link" => "link_id",
        _ => return 0,
    };
    sys::fdinfo_field(fd.as_fd(), key).unwrap_or(0) as u32
}

fn open(path: &str) -> Result<PinnedObject> {
    let fd = sys::get_pinned(path)?;
    let kind = sys::fd_kind(fd.as_fd());
    let id = fd_id(&fd, kind);
    Ok(PinnedObject { fd: ClosableFd::new(fd), kind, id, path: path.to_string() })
}

#[napi]
impl PinnedObject {
    /// Opens what is pinned at `path`.
    #[napi(factory)]
    pub fn open(path: String) -> napi::Result<PinnedObject> {
        Ok(open(&path)?)
    }

    /// `program`, `map` or `link`.
    #[napi(getter)]
    pub fn kind(&self) -> String {
        self.kind.to_string()
    }

    /// The kernel id of the program, map or link.
    #[napi(getter)]
    pub fn id(&self) -> u32 {
        self.id
    }

    #[napi(getter)]
    pub fn path(&self) -> String {
        self.path.clone()
    }

    /// For a link: the id of the program it attaches.
    #[napi(getter)]
    pub fn program_id(&self) -> Option<u32> {
        let guard = self.fd.lock();
        let fd = guard.as_ref()?;
        (self.kind == "link").then(|| sys::fdinfo_field(fd.as_fd(), "prog_id").map(|v| v as u32)).flatten()
    }

    /// Closes this fd (the pin stays).
    #[napi]
    pub fn close(&self) {
        self.fd.close();
    }

    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.fd.closed()
    }
}

/// Whether `path` is on a bpffs mount; throws a clear error otherwise.
#[napi]
pub fn check_bpffs(path: String) -> napi::Result<()> {
    Ok(sys::check_bpffs(&path)?)
}

//! Iterators (`iter/task`, `iter/bpf_map`, ...; BPF_PROG_TYPE_TRACING): programs the kernel
//! calls once per object of a kind (task, map, socket, ...) when the iterator is read; what
//! they write with `bpf_seq_write`/`bpf_seq_printf` is what the read returns.

use std::{io::Read, os::fd::{AsFd, BorrowedFd, OwnedFd}};

use aya::programs::{links::FdLink, Program, ProgramError};
use napi::bindgen_prelude::Buffer;
use napi_derive::napi;

use crate::{
    error::{AyaContext, Code, NodeError},
    link::{ErasedLink, Link},
    object::{lock, EbpfObject},
    btf::{btf_target_error, kernel_btf},
    programs::attach::typed,
    sys,
};

/// An attached iterator: Aya's link, plus our own fd of the same kernel link to start
/// iterations from (Aya keeps its fd private). Both close on detach, which ends the link.
struct IterAttachment {
    link: FdLink,
    fd: OwnedFd,
}

impl ErasedLink for IterAttachment {
    fn detach(self: Box<Self>) -> Result<(), ProgramError> {
        let IterAttachment { link, fd } = *self;
        drop(fd);
        aya::programs::Link::detach(link)
    }

    fn iter_link_fd(&self) -> Option<BorrowedFd<'_>> {
        Some(self.fd.as_fd())
    }
}

#[napi]
impl EbpfObject {
    /// Loads the iterator program `program` for the kernel's iterator `target` (`task`,
    /// `bpf_map`, `tcp`, ...: the `bpf_iter_<target>` function of the kernel's BTF) and
    /// attaches it.
    #[napi]
    pub fn attach_iter(&self, program: String, target: String) -> napi::Result<Link> {
        let btf = kernel_btf()?;
        let attachment = {
            let mut state = lock(&self.state);
            let prog = typed(&mut state, &program, "iter", |p| match p {
                Program::Iter(p) => Some(p),
                _ => None,
            })?;
            if prog.fd().is_err() {
                prog.load(&target, btf)
                    .context(|| format!("loading program `{program}` for iterator {target}"))
                    .map_err(|e| btf_target_error(e, "iterator", &format!("bpf_iter_{target}")))?;
            }
            let id = prog.attach().context(|| format!("attaching iterator `{program}`"))?;
            let link = prog.take_link(id).context(|| format!("taking the link of `{program}`"))?;
            let link = FdLink::try_from(link).context(|| format!("the link of iterator `{program}`"))?;
            let link_id = link.info().context(|| format!("reading the link of `{program}`"))?.id();
            let fd = sys::link_fd_by_id(link_id)?
                .ok_or_else(|| NodeError::new(Code::Kernel, format!("the link of iterator `{program}` vanished")))?;
            IterAttachment { link, fd }
        };
        Ok(self.link("iter", Box::new(attachment)))
    }

    /// Runs the iterator of `link` once and returns everything it wrote.
    #[napi]
    pub fn read_iter(&self, link: &Link) -> napi::Result<Buffer> {
        let iteration = {
            let state = lock(&self.state);
            let entry = link
                .entry_in(&self.state)
                .and_then(|id| state.links.get(&id))
                .ok_or_else(|| NodeError::closed("the iterator link"))?;
            let fd = entry
                .iter_link_fd()
                .ok_or_else(|| NodeError::new(Code::WrongType, "the link is not an iterator's"))?;
            sys::iter_create(fd)?
        };
        // The iteration holds the link itself, so it is read without the object's lock.
        let mut out = Vec::new();
        std::fs::File::from(iteration).read_to_end(&mut out).map_err(|e| NodeError::syscall("read", e))?;
        Ok(out.into())
    }
}

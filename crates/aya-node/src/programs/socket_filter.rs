//! Socket filters: run on each packet a socket receives and decide how much of it the socket
//! gets (0 = drop it). A socket has one BPF filter at a time; attaching replaces it.

use std::os::fd::{BorrowedFd, FromRawFd, OwnedFd};

use aya::programs::{socket_filter::SocketFilter, Program, ProgramError};
use napi_derive::napi;

use crate::{
    error::{AyaContext, Code, NodeError},
    link::{ErasedLink, Link},
    object::{lock, EbpfObject},
    programs::attach::typed,
};

/// The attachment of a filter to one socket. It holds a duplicate of the socket's fd, so the
/// socket cannot be closed and its fd number reused under it before the detach.
struct SocketFilterLink {
    socket: OwnedFd,
}

impl ErasedLink for SocketFilterLink {
    fn detach(self: Box<Self>) -> Result<(), ProgramError> {
        SocketFilter::detach(&self.socket)
    }
}

fn duplicate_fd(fd: i32) -> Result<OwnedFd, NodeError> {
    // SAFETY: F_DUPFD_CLOEXEC on any integer is safe; it fails with EBADF for a closed fd.
    let dup = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
    if dup < 0 {
        let mut err = NodeError::syscall("fcntl", std::io::Error::last_os_error());
        err.code = Code::InvalidArgument;
        err.message = format!("fd {fd} is not an open socket: {}", err.message);
        return Err(err);
    }
    // SAFETY: `dup` is a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(dup) })
}

#[napi]
impl EbpfObject {
    /// Loads the socket filter `program` (if not loaded yet) and attaches it to the socket
    /// whose fd is `socket_fd` (SO_ATTACH_BPF).
    #[napi]
    pub fn attach_socket_filter(&self, program: String, socket_fd: i32) -> napi::Result<Link> {
        let socket = duplicate_fd(socket_fd)?;
        {
            let mut state = lock(&self.state);
            let prog = typed(&mut state, &program, "socket_filter", |p| match p {
                Program::SocketFilter(p) => Some(p),
                _ => None,
            })?;
            if prog.fd().is_err() {
                prog.load().context(|| format!("loading program `{program}`"))?;
            }
            // SAFETY: `socket` is open for the whole call.
            let borrowed = unsafe { BorrowedFd::borrow_raw(std::os::fd::AsRawFd::as_raw_fd(&socket)) };
            prog.attach(borrowed)
                .context(|| format!("attaching `{program}` to socket fd {socket_fd}"))
                .map_err(|mut e| {
                    if e.errno == Some(libc::ENOTSOCK) {
                        e.code = Code::InvalidArgument;
                    }
                    e
                })?;
        }
        Ok(self.link("socket_filter", Box::new(SocketFilterLink { socket })))
    }
}

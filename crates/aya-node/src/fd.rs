//! An owned fd that JavaScript may close before the finalizer runs: the one type behind every
//! handle that holds a bare fd (map handles, pinned objects, the statistics switch).

use std::{
    os::fd::OwnedFd,
    sync::{Mutex, MutexGuard},
};

/// The fd while open; `None` once closed (closing drops, so closes, it).
pub type FdGuard<'a> = MutexGuard<'a, Option<OwnedFd>>;

pub struct ClosableFd(Mutex<Option<OwnedFd>>);

impl ClosableFd {
    pub fn new(fd: OwnedFd) -> Self {
        Self(Mutex::new(Some(fd)))
    }

    /// The fd slot, locked; nothing panics while holding it, and poisoning never becomes a panic.
    pub fn lock(&self) -> FdGuard<'_> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Closes the fd now; closing twice is a no-op.
    pub fn close(&self) {
        self.lock().take();
    }

    pub fn closed(&self) -> bool {
        self.lock().is_none()
    }
}

#[cfg(test)]
mod tests {
    use std::os::fd::{AsRawFd, FromRawFd};

    use super::*;

    #[test]
    fn close_closes_the_fd_once() {
        // SAFETY: dup gives a new fd that the OwnedFd owns.
        let fd = unsafe { OwnedFd::from_raw_fd(libc::dup(0)) };
        let raw = fd.as_raw_fd();
        let closable = ClosableFd::new(fd);
        assert!(!closable.closed());
        closable.close();
        assert!(closable.closed());
        // SAFETY: fcntl on a number; EBADF tells the fd is closed.
        assert_eq!(unsafe { libc::fcntl(raw, libc::F_GETFD) }, -1, "the fd was closed");
        closable.close();
        assert!(closable.lock().is_none());
    }
}

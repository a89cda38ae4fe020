//! Holding back the timer signals profilers send while the kernel verifies a program: the
//! verifier gives up with EAGAIN when a signal arrives for the thread.

/// Blocks the timer signals (SIGPROF, SIGALRM, SIGVTALRM) for this thread while alive; the
/// previous mask comes back on drop, and pending signals are delivered then.
pub struct TimerSignalsHeld {
    previous: libc::sigset_t,
}

impl TimerSignalsHeld {
    pub fn new() -> Self {
        // SAFETY: sigset_t is plain data, initialised by sigemptyset before use; pthread_sigmask
        // changes only this thread's mask and writes the previous one into `previous`.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            let mut previous: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for signal in [libc::SIGPROF, libc::SIGALRM, libc::SIGVTALRM] {
                libc::sigaddset(&mut set, signal);
            }
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut previous);
            Self { previous }
        }
    }
}

impl Drop for TimerSignalsHeld {
    fn drop(&mut self) {
        // SAFETY: restores the mask saved in `new` for this same thread.
        unsafe {
            libc::pthread_sigmask(libc::SIG_SETMASK, &self.previous, std::ptr::null_mut());
        }
    }
}

//! Loading a program into the kernel without attaching it (for test runs, pinning, or to see
//! the verifier's verdict early). Kinds whose load needs a target (fentry, lsm, ...) load on
//! attach instead.

use aya::programs::{Program, ProgramError};
use napi_derive::napi;

use crate::{
    signals::TimerSignalsHeld,
    error::{AyaContext, Code, NodeError, Result},
    kinds::program_kind,
    object::{lock, EbpfObject},
    panic::{panic_message, quiet_panic_hook},
};

/// How many times a load interrupted by a signal is tried (as libbpf does).
const LOAD_ATTEMPTS: u32 = 5;

/// Runs `load` again while the kernel answers EAGAIN: the verifier gives up with EAGAIN when a
/// signal arrives for the thread (a profiler's SIGPROF, an APM's timer), which says nothing
/// about the program. Every program load goes through here.
pub fn retrying<T>(mut load: impl FnMut() -> std::result::Result<T, ProgramError>) -> std::result::Result<T, ProgramError> {
    let mut attempt = 1;
    loop {
        // Profilers sample with a timer signal (V8's --cpu-prof sends SIGPROF to this thread
        // every 1 ms or faster), more often than a long verification lasts: held back while the
        // kernel verifies, they arrive right after, and the load is not interrupted.
        let result = {
            let _held = TimerSignalsHeld::new();
            load()
        };
        match result {
            Err(ProgramError::LoadError { io_error, .. }) if io_error.raw_os_error() == Some(libc::EAGAIN) && attempt < LOAD_ATTEMPTS => {
                attempt += 1;
            }
            Err(ProgramError::SyscallError(e)) if e.io_error.raw_os_error() == Some(libc::EAGAIN) && attempt < LOAD_ATTEMPTS => {
                attempt += 1;
            }
            other => return other,
        }
    }
}


/// Loads `program` (named `name`) if it is not loaded yet. A verifier rejection comes back as a
/// `Verifier` error that names the program.
pub fn ensure_loaded(program: &mut Program, name: &str) -> Result<()> {
    if program.fd().is_ok() {
        return Ok(());
    }
    // Aya unwraps the verifier log as UTF-8; a panic there must not cross into Node.
    quiet_panic_hook();
    let loaded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| load_any(program, name)));
    let result = match loaded {
        Ok(result) => result?,
        Err(panic) => {
            let _ = panic_message(&*panic);
            return Err(NodeError::new(Code::Parse, format!("loading program `{name}` failed: its instructions or BTF are malformed")).with_program(name));
        }
    };
    result.context(|| format!("loading program `{name}`")).map_err(|e| e.with_program(name))
}

fn load_any(program: &mut Program, name: &str) -> Result<std::result::Result<(), aya::programs::ProgramError>> {
    Ok(match program {
        Program::KProbe(p) => retrying(|| p.load()),
        Program::UProbe(p) => retrying(|| p.load()),
        Program::TracePoint(p) => retrying(|| p.load()),
        Program::SocketFilter(p) => retrying(|| p.load()),
        Program::ReusePortSocketFilter(p) => retrying(|| p.load()),
        Program::Xdp(p) => retrying(|| p.load()),
        Program::SkMsg(p) => retrying(|| p.load()),
        Program::SkSkb(p) => retrying(|| p.load()),
        Program::SockOps(p) => retrying(|| p.load()),
        Program::SchedClassifier(p) => retrying(|| p.load()),
        Program::CgroupSkb(p) => retrying(|| p.load()),
        Program::CgroupSysctl(p) => retrying(|| p.load()),
        Program::CgroupSockopt(p) => retrying(|| p.load()),
        Program::LircMode2(p) => retrying(|| p.load()),
        Program::PerfEvent(p) => retrying(|| p.load()),
        Program::RawTracePoint(p) => retrying(|| p.load()),
        Program::CgroupSockAddr(p) => retrying(|| p.load()),
        Program::SkLookup(p) => retrying(|| p.load()),
        Program::SkReuseport(p) => retrying(|| p.load()),
        Program::CgroupSock(p) => retrying(|| p.load()),
        Program::CgroupDevice(p) => retrying(|| p.load()),
        Program::FlowDissector(p) => retrying(|| p.load()),
        other => {
            return Err(NodeError::new(
                Code::InvalidArgument,
                format!("{} program `{name}` needs its attach target to load; it loads when attached", program_kind(other)),
            ))
        }
    })
}

#[napi]
impl EbpfObject {
    /// Loads the program `name` into the kernel (verifying it) without attaching it.
    #[napi]
    pub fn load_program(&self, name: String) -> napi::Result<()> {
        let mut state = lock(&self.state);
        if let Some((hidden, ebpf)) = state.hidden_program(&name)? {
            crate::programs::syscall::ensure_loaded(hidden, ebpf, &name)?;
            return Ok(());
        }
        let program = state.program(&name)?;
        Ok(ensure_loaded(program, &name)?)
    }
}

//! Loading a program into the kernel without attaching it (for test runs, pinning, or to see
//! the verifier's verdict early). Kinds whose load needs a target (fentry, lsm, ...) load on
//! attach instead.

use aya::programs::Program;
use napi_derive::napi;

use crate::{
    error::{AyaContext, Code, NodeError, Result},
    kinds::program_kind,
    object::{lock, EbpfObject},
    panic::{panic_message, quiet_panic_hook},
};

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
            return Err(NodeError::new(Code::Kernel, format!("loading program `{name}` failed: {}", panic_message(&*panic))).with_program(name))
        }
    };
    result.context(|| format!("loading program `{name}`")).map_err(|e| e.with_program(name))
}

fn load_any(program: &mut Program, name: &str) -> Result<std::result::Result<(), aya::programs::ProgramError>> {
    Ok(match program {
        Program::KProbe(p) => p.load(),
        Program::UProbe(p) => p.load(),
        Program::TracePoint(p) => p.load(),
        Program::SocketFilter(p) => p.load(),
        Program::ReusePortSocketFilter(p) => p.load(),
        Program::Xdp(p) => p.load(),
        Program::SkMsg(p) => p.load(),
        Program::SkSkb(p) => p.load(),
        Program::SockOps(p) => p.load(),
        Program::SchedClassifier(p) => p.load(),
        Program::CgroupSkb(p) => p.load(),
        Program::CgroupSysctl(p) => p.load(),
        Program::CgroupSockopt(p) => p.load(),
        Program::LircMode2(p) => p.load(),
        Program::PerfEvent(p) => p.load(),
        Program::RawTracePoint(p) => p.load(),
        Program::CgroupSockAddr(p) => p.load(),
        Program::SkLookup(p) => p.load(),
        Program::SkReuseport(p) => p.load(),
        Program::CgroupSock(p) => p.load(),
        Program::CgroupDevice(p) => p.load(),
        Program::FlowDissector(p) => p.load(),
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

//! Program arrays (`BPF_MAP_TYPE_PROG_ARRAY`): the jump tables of tail calls. A slot holds a
//! program fd; a program of the same type that tail-calls the slot jumps to it.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use aya::programs::Program;
use napi_derive::napi;

use super::handle::{borrow, MapHandle};
use crate::sys::map as sys;
use crate::{
    error::{AyaContext, Code, NodeError, Result},
    kinds::program_kind,
    object::{lock, EbpfObject, ObjectState},
};

/// Loads `name` if it is not loaded yet (program types whose `load()` needs no arguments),
/// and returns a duplicate of its fd.
pub fn loaded_program_fd(state: &mut ObjectState, name: &str) -> Result<OwnedFd> {
    let program = state.program(name)?;
    if program.fd().is_err() {
        let loaded = match program {
            Program::RawTracePoint(p) => p.load(),
            Program::TracePoint(p) => p.load(),
            Program::SocketFilter(p) => p.load(),
            Program::Xdp(p) => p.load(),
            Program::SchedClassifier(p) => p.load(),
            Program::KProbe(p) => p.load(),
            Program::UProbe(p) => p.load(),
            Program::PerfEvent(p) => p.load(),
            Program::CgroupSkb(p) => p.load(),
            Program::SkMsg(p) => p.load(),
            Program::SkSkb(p) => p.load(),
            Program::SockOps(p) => p.load(),
            other => {
                return Err(NodeError::new(
                    Code::InvalidArgument,
                    format!(
                        "program `{name}` ({}) is not loaded; load it (attach it) before putting it in a map",
                        program_kind(other)
                    ),
                ))
            }
        };
        loaded.context(|| format!("loading program `{name}`"))?;
    }
    let fd = program.fd().context(|| format!("program `{name}`"))?;
    fd.as_fd().try_clone_to_owned().map_err(|e| NodeError::syscall("fcntl(F_DUPFD_CLOEXEC)", e))
}

#[napi]
impl EbpfObject {
    /// Puts program `program` (loading it first if needed) at `index` of the program array `map`.
    #[napi]
    pub fn set_program_array_entry(&self, map: &MapHandle, index: u32, program: String, flags: u32) -> napi::Result<()> {
        let prog_fd = loaded_program_fd(&mut lock(&self.state), &program)?;
        let key = index.to_ne_bytes();
        map.check_key(&key)?;
        let value = (prog_fd.as_raw_fd() as u32).to_ne_bytes();
        let guard = map.fd()?;
        sys::update(borrow(&guard)?, Some(&key), &value, flags as u64).map_err(|e| {
            let mut err = NodeError::from(e);
            err.message = format!("setting program `{program}` at index {index}: {}", err.message);
            err
        })?;
        Ok(())
    }
}

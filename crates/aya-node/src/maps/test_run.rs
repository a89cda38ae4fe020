//! BPF_PROG_TEST_RUN: runs a program once in the kernel without attaching it, on a given CPU
//! where the program type allows (raw tracepoints). The map tests use it to make eBPF code
//! write maps on demand.

use std::os::fd::AsRawFd;

use napi::bindgen_prelude::Buffer;
use napi_derive::napi;

use super::{program_array::loaded_program_fd, sys};
use crate::{error::NodeError, object::{lock, EbpfObject}};

const BPF_F_TEST_RUN_ON_CPU: u32 = 1;

#[napi(object)]
pub struct TestRunOptions {
    /// The program's context (for raw tracepoints: the u64 arguments).
    pub ctx: Option<Buffer>,
    /// Packet data, for networking programs.
    pub data: Option<Buffer>,
    /// Run on this CPU (raw tracepoint programs).
    pub cpu: Option<u32>,
    pub repeat: Option<u32>,
}

#[napi(object)]
pub struct TestRunResult {
    /// The program's return value.
    pub retval: u32,
    /// Average run time in ns, when the program type reports it.
    pub duration: u32,
}

#[napi]
impl EbpfObject {
    /// Loads (if needed) and runs `program` once through BPF_PROG_TEST_RUN.
    #[napi]
    pub fn test_run(&self, program: String, options: TestRunOptions) -> napi::Result<TestRunResult> {
        let fd = loaded_program_fd(&mut lock(&self.state), &program)?;
        let mut attr = sys::TestRunAttr { prog_fd: fd.as_raw_fd() as u32, repeat: options.repeat.unwrap_or(0), ..Default::default() };
        if let Some(ctx) = &options.ctx {
            attr.ctx_in = ctx.as_ptr() as u64;
            attr.ctx_size_in = ctx.len() as u32;
        }
        if let Some(data) = &options.data {
            attr.data_in = data.as_ptr() as u64;
            attr.data_size_in = data.len() as u32;
        }
        if let Some(cpu) = options.cpu {
            attr.flags = BPF_F_TEST_RUN_ON_CPU;
            attr.cpu = cpu;
        }
        sys::test_run(&mut attr).map_err(|e| {
            let mut err = NodeError::from(e);
            err.message = format!("test-running `{program}`: {}", err.message);
            err
        })?;
        Ok(TestRunResult { retval: attr.retval, duration: attr.duration })
    }
}

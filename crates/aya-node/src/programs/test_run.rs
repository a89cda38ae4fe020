//! `BPF_PROG_TEST_RUN`: runs a loaded program on data and context supplied by the caller,
//! without attaching it. The kernel allows it for XDP, TC, socket filter, cgroup_skb, flow
//! dissector, raw tracepoint, sk_lookup, syscall and a few more; others fail with ENOTSUPP/EINVAL.
//!
//! [`test_run_fd`] is the plain Rust entry point (usable in a tight loop by other modules);
//! `EbpfObject::test_run` is the JavaScript one.

use std::os::fd::{AsFd, BorrowedFd};

use napi::bindgen_prelude::Buffer;
use napi_derive::napi;

use crate::{
    error::{Code, NodeError, Result},
    object::{lock, EbpfObject},
    programs::load::ensure_loaded,
    sys,
};

pub use crate::sys::prog::{TestRunInput, TestRunOutput, BPF_F_TEST_RUN_ON_CPU};

fn len_u32(what: &str, len: usize) -> Result<u32> {
    u32::try_from(len).map_err(|_| NodeError::new(Code::InvalidArgument, format!("test run: {what} is larger than 4 GiB")))
}

/// Runs the program behind `fd` once (or `repeat` times) with `BPF_PROG_TEST_RUN`.
pub fn test_run_fd(fd: BorrowedFd<'_>, input: TestRunInput<'_>) -> Result<TestRunOutput> {
    len_u32("data", input.data_in.len())?;
    len_u32("data out", input.data_out.as_ref().map_or(0, |o| o.len()))?;
    len_u32("ctx", input.ctx_in.len())?;
    len_u32("ctx out", input.ctx_out.as_ref().map_or(0, |o| o.len()))?;
    sys::prog::test_run(fd, input).map_err(|e| {
        let mut err = NodeError::syscall(&sys::command_name(e.cmd), e.io);
        if matches!(err.errno, Some(libc::ENOTSUP) | Some(sys::ENOTSUPP)) {
            err.code = Code::WrongType;
            err.message.push_str(" (the kernel cannot test-run this program type)");
        } else if err.errno == Some(libc::ENOSPC) {
            err.message.push_str(" (the output buffer is too small: raise dataOut/ctxOut)");
        }
        err
    })
}

#[napi(object)]
pub struct TestRunOptions {
    /// Packet (or other) input data.
    pub data: Option<Buffer>,
    /// Room for the output data; default: input length + 256 (programs may grow packets).
    pub data_out_size: Option<u32>,
    /// Input context (e.g. a `struct __sk_buff` or `xdp_md`, or raw tracepoint arguments).
    pub ctx: Option<Buffer>,
    /// Room for the output context; default: the input context's length.
    pub ctx_out_size: Option<u32>,
    /// Run this many times (the duration is the average).
    pub repeat: Option<u32>,
    /// Run on this CPU.
    pub cpu: Option<u32>,
    /// Raw `BPF_F_TEST_*` flags (e.g. XDP live frames), or-ed in.
    pub flags: Option<u32>,
    /// XDP live-frames batch size.
    pub batch_size: Option<u32>,
}

#[napi(object)]
pub struct TestRunResult {
    pub return_value: u32,
    /// Average nanoseconds per run.
    pub duration: u32,
    /// Output data (when input data was given).
    pub data: Option<Buffer>,
    /// Output context (when a context was given).
    pub ctx: Option<Buffer>,
}

#[napi]
impl EbpfObject {
    /// Loads the program `name` if needed and runs it with `BPF_PROG_TEST_RUN`.
    #[napi]
    pub fn test_run(&self, name: String, options: TestRunOptions) -> napi::Result<TestRunResult> {
        let mut state = lock(&self.state);
        if state.hidden.contains_key(&name) {
            return Ok(test_run_syscall(&mut state, &name, &options)?);
        }
        let program = state.program(&name)?;
        // Raw tracepoint runs take a context but refuse ctx_out and repeat.
        let raw_tracepoint = matches!(program, aya::programs::Program::RawTracePoint(_));
        ensure_loaded(program, &name)?;
        let fd = program.fd().map_err(|e| NodeError::from_aya(&format!("program `{name}`"), &e))?;
        let data_in: &[u8] = options.data.as_deref().unwrap_or(&[]);
        let ctx_in: &[u8] = options.ctx.as_deref().unwrap_or(&[]);
        let mut data_out = if options.data.is_some() {
            vec![0u8; options.data_out_size.map_or(data_in.len() + 256, |n| n as usize)]
        } else {
            Vec::new()
        };
        let default_ctx_out = if raw_tracepoint { 0 } else { ctx_in.len() };
        let mut ctx_out = vec![0u8; options.ctx_out_size.map_or(default_ctx_out, |n| n as usize)];
        let mut flags = options.flags.unwrap_or(0);
        if options.cpu.is_some() {
            flags |= BPF_F_TEST_RUN_ON_CPU;
        }
        let out = test_run_fd(
            fd.as_fd(),
            TestRunInput {
                data_in,
                data_out: Some(&mut data_out),
                ctx_in,
                ctx_out: Some(&mut ctx_out),
                repeat: options.repeat.unwrap_or(if raw_tracepoint { 0 } else { 1 }),
                flags,
                cpu: options.cpu.unwrap_or(0),
                batch_size: options.batch_size.unwrap_or(0),
            },
        )
        .map_err(|mut e| {
            e.message = format!("test run of `{name}`: {}", e.message);
            e
        })?;
        let data = options.data.is_some().then(|| {
            data_out.truncate(out.data_size_out as usize);
            Buffer::from(data_out)
        });
        let ctx = (!ctx_out.is_empty()).then(|| {
            ctx_out.truncate(out.ctx_size_out as usize);
            Buffer::from(ctx_out)
        });
        Ok(TestRunResult { return_value: out.return_value, duration: out.duration_ns, data, ctx })
    }
}

/// A syscall program's run: the kernel takes only a context, and writes the program's changes
/// to it back into the input buffer (here a copy, returned as `ctx`).
fn test_run_syscall(state: &mut crate::object::ObjectState, name: &str, options: &TestRunOptions) -> Result<TestRunResult> {
    let Some((hidden, ebpf)) = state.hidden_program(name)? else {
        return Err(NodeError::new(Code::NotFound, format!("no program named `{name}` in the object")));
    };
    let kind = hidden.program.kind;
    if kind != "syscall" {
        return Err(NodeError::new(Code::WrongType, format!("test run of `{name}`: the kernel cannot test-run {kind} programs")));
    }
    if options.data.is_some() || options.data_out_size.is_some() || options.ctx_out_size.is_some() || options.repeat.unwrap_or(1) > 1 || options.flags.unwrap_or(0) != 0 || options.cpu.is_some() {
        return Err(NodeError::new(Code::InvalidArgument, format!("test run of syscall program `{name}`: only `ctx` applies to syscall programs")));
    }
    let fd = crate::programs::syscall::ensure_loaded(hidden, ebpf, name)?;
    let mut ctx = options.ctx.as_deref().map(<[u8]>::to_vec).unwrap_or_default();
    let ctx_ptr = ctx.as_mut_ptr();
    let len = ctx.len();
    // SAFETY: the kernel writes the context back through ctx_in (syscall programs take no
    // ctx_out), so it points into `ctx`, memory we own and do not touch until the call returns.
    let ctx_in = unsafe { std::slice::from_raw_parts(ctx_ptr, len) };
    let out = test_run_fd(
        fd,
        TestRunInput { ctx_in, ..Default::default() },
    )
    .map_err(|mut e| {
        e.message = format!("test run of `{name}`: {}", e.message);
        e
    })?;
    Ok(TestRunResult { return_value: out.return_value, duration: out.duration_ns, data: None, ctx: options.ctx.is_some().then(|| Buffer::from(ctx)) })
}

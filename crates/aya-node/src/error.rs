//! Errors that cross into JavaScript.
//!
//! A thrown native error carries a JSON payload after [`PREFIX`] in its message; the TypeScript
//! layer (`src/errors.ts`) turns it into an `EbpfError` with `code`, `errno`, `syscall` and, for
//! verifier rejections, the complete verifier log.

use std::{error::Error as StdError, fmt::Write as _, io};

pub const PREFIX: &str = "AYA_NODE_ERROR:";

/// What went wrong, as a stable string the TypeScript layer maps onto error classes.
#[derive(Clone, Copy, Debug)]
pub enum Code {
    /// The caller passed something unusable (wrong size, unknown option, ...).
    InvalidArgument,
    /// A program, map or other named thing is not in the object or on the system.
    NotFound,
    /// The ELF could not be parsed or relocated.
    Parse,
    /// The verifier rejected a program.
    Verifier,
    /// A syscall or kernel operation failed; see errno.
    Kernel,
    /// The handle was closed.
    Closed,
    /// The resource is already in use (e.g. a second reader of one ring buffer).
    Busy,
    /// The kernel refused for lack of privileges.
    Permission,
    /// The program is of another type than the caller asked for.
    WrongType,
    /// The running kernel lacks what this needs (e.g. kprobes without CONFIG_KPROBES).
    Unsupported,
}

impl Code {
    fn as_str(self) -> &'static str {
        match self {
            Code::InvalidArgument => "INVALID_ARGUMENT",
            Code::NotFound => "NOT_FOUND",
            Code::Parse => "PARSE",
            Code::Verifier => "VERIFIER",
            Code::Kernel => "KERNEL",
            Code::Closed => "CLOSED",
            Code::Busy => "BUSY",
            Code::Permission => "PERMISSION",
            Code::WrongType => "WRONG_TYPE",
            Code::Unsupported => "UNSUPPORTED",
        }
    }
}

#[derive(Debug)]
pub struct NodeError {
    pub code: Code,
    pub message: String,
    pub errno: Option<i32>,
    pub syscall: Option<String>,
    pub verifier_log: Option<String>,
    /// The program concerned, when one is (e.g. the one the verifier rejected).
    pub program: Option<String>,
}

pub type Result<T> = std::result::Result<T, NodeError>;

impl NodeError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), errno: None, syscall: None, verifier_log: None, program: None }
    }

    pub fn closed(what: &str) -> Self {
        Self::new(Code::Closed, format!("{what} is closed"))
    }

    /// An `io::Error` from a syscall made by this crate (not through Aya).
    pub fn syscall(call: &str, err: io::Error) -> Self {
        let mut e = Self::new(Code::Kernel, format!("{call} failed: {err}"));
        e.errno = err.raw_os_error();
        e.syscall = Some(call.to_string());
        e.refine_by_errno();
        e
    }

    /// Converts any Aya error: the whole `source()` chain goes into the message, and the
    /// errno, syscall name and verifier log are picked out of it where present.
    pub fn from_aya(context: &str, err: &(dyn StdError + 'static)) -> Self {
        let mut message = format!("{context}: {err}");
        let mut e = Self::new(Code::Kernel, String::new());
        let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
        while let Some(level) = cur {
            // Aya's errors often repeat their source's text ("failed to create map `x`: failed
            // to create map `x`"): a level already said is not said again.
            if !std::ptr::eq(level, err) {
                let text = level.to_string();
                if !message.contains(&text) {
                    let _ = write!(message, ": {text}");
                }
            }
            if let Some(sys) = level.downcast_ref::<aya::sys::SyscallError>() {
                e.syscall = Some(sys.call.to_string());
                e.errno = e.errno.or(sys.io_error.raw_os_error());
            }
            if let Some(io) = level.downcast_ref::<io::Error>() {
                e.errno = e.errno.or(io.raw_os_error());
            }
            if let Some(aya::programs::ProgramError::LoadError { io_error, verifier_log }) =
                level.downcast_ref::<aya::programs::ProgramError>()
            {
                e.errno = io_error.raw_os_error();
                e.syscall = Some("bpf_prog_load".to_string());
                let log = verifier_log.to_string();
                // EPERM (and EACCES with nothing verified) is the kernel refusing the caller,
                // not the verifier refusing the program.
                let refused = matches!(e.errno, Some(libc::EPERM)) || (matches!(e.errno, Some(libc::EACCES)) && log.trim().is_empty());
                if !refused {
                    e.code = Code::Verifier;
                    e.verifier_log = Some(log);
                }
            }
            if let Some(aya::maps::MapError::InvalidMapType { map_type }) = level.downcast_ref::<aya::maps::MapError>() {
                e.code = Code::WrongType;
                let _ = write!(message, " ({} map)", crate::kinds::map_type_name(*map_type));
            }
            if let Some(
                aya::EbpfError::ParseError(_)
                | aya::EbpfError::BtfError(_)
                | aya::EbpfError::RelocationError(_)
                | aya::EbpfError::BtfRelocationError(_),
            ) = level.downcast_ref::<aya::EbpfError>()
            {
                e.code = Code::Parse;
            }
            cur = level.source();
        }
        // The verifier log is long; it travels whole in `verifierLog`, and the TypeScript
        // layer puts its last lines into the message.
        if let Some(pos) = message.find(". Verifier output:") {
            message.truncate(pos);
        }
        e.message = message;
        e.refine_by_errno();
        e
    }

    /// Records which program the error concerns.
    pub fn with_program(mut self, name: &str) -> Self {
        self.program = Some(name.to_string());
        self
    }

    /// The one place where an errno decides the code (see README, "Errors"): EPERM/EACCES is
    /// PERMISSION naming the capabilities, ENOENT/ENODEV (a name the kernel does not know) is
    /// NOT_FOUND, EOPNOTSUPP/ENOTSUPP/ENOSYS is UNSUPPORTED.
    fn refine_by_errno(&mut self) {
        if matches!(self.code, Code::Kernel) {
            match self.errno {
                Some(libc::ENOENT | libc::ENODEV) => self.code = Code::NotFound,
                Some(libc::EOPNOTSUPP | libc::ENOSYS | 524 /* ENOTSUPP */) => self.code = Code::Unsupported,
                _ => {}
            }
        }
        if matches!(self.code, Code::Kernel) && matches!(self.errno, Some(libc::EPERM | libc::EACCES)) {
            self.code = Code::Permission;
            self.message.push_str(
                " (loading and attaching eBPF programs needs root, or CAP_BPF plus CAP_PERFMON for \
                 tracing and CAP_NET_ADMIN for networking programs; iterators and listing the \
                 kernel's programs, maps and links need CAP_SYS_ADMIN)",
            );
        }
    }

    fn to_json(&self) -> String {
        let mut out = String::from("{");
        let _ = write!(out, "\"code\":{},\"message\":{}", json_str(self.code.as_str()), json_str(&self.message));
        if let Some(errno) = self.errno {
            let _ = write!(out, ",\"errno\":{errno}");
        }
        if let Some(call) = &self.syscall {
            let _ = write!(out, ",\"syscall\":{}", json_str(call));
        }
        if let Some(program) = &self.program {
            let _ = write!(out, ",\"program\":{}", json_str(program));
        }
        if let Some(log) = &self.verifier_log {
            let _ = write!(out, ",\"verifierLog\":{}", json_str(log));
        }
        out.push('}');
        out
    }
}

fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl From<NodeError> for napi::Error {
    fn from(e: NodeError) -> Self {
        napi::Error::new(napi::Status::GenericFailure, format!("{PREFIX}{}", e.to_json()))
    }
}

/// Shorthand for turning an Aya result into ours with a context string.
pub trait AyaContext<T> {
    fn context(self, context: impl FnOnce() -> String) -> Result<T>;
}

impl<T, E: StdError + 'static> AyaContext<T> for std::result::Result<T, E> {
    fn context(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| NodeError::from_aya(&context(), &e))
    }
}

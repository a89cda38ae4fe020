//! USDT probes: a uprobe program attached at every site of one probe. Each site is its own
//! uprobe perf event, opened here rather than through Aya because Aya 0.14 cannot pass the
//! uprobe reference-counter offset: with it, the kernel counts the probe's semaphore up in
//! every process that maps the file (so the traced program prepares the probe's arguments)
//! and back down when the event is closed. The program is attached to each event with a BPF
//! link carrying the site's cookie, which keys its argument spec for the program.

use std::{
    ffi::CString,
    os::fd::{AsFd, AsRawFd, OwnedFd},
};

use aya::programs::{ProbeKind, Program, ProgramError};
use napi::bindgen_prelude::BigInt;
use napi_derive::napi;

use crate::{
    error::{AyaContext, Code, NodeError, Result},
    link::{erased::ErasedLink, Link},
    object::{lock, EbpfObject},
    programs::attach::typed,
    sys,
};

/// Sites attached by one call at most.
const MAX_SITES: usize = 4096;

#[napi(object)]
pub struct UsdtSite {
    /// File offset of the probe's instruction.
    pub offset: BigInt,
    /// File offset of the probe's semaphore (0 when it has none).
    pub ref_ctr_offset: BigInt,
    /// The BPF cookie the program reads with `bpf_get_attach_cookie()`.
    pub cookie: BigInt,
}

#[napi(object)]
pub struct UsdtAttach {
    /// The binary or library (a resolved path).
    pub path: String,
    /// Only this process; all when absent.
    pub pid: Option<u32>,
    pub sites: Vec<UsdtSite>,
}

/// The perf events and BPF links of every site; closing them detaches the program and makes
/// the kernel count the semaphores back down.
struct UsdtLink {
    events: Vec<(OwnedFd, OwnedFd)>,
}

impl ErasedLink for UsdtLink {
    fn detach(self: Box<Self>) -> std::result::Result<(), ProgramError> {
        drop(self.events);
        Ok(())
    }
}

fn u64_of(value: &BigInt, what: &str) -> Result<u64> {
    let (signed, v, lossless) = value.get_u64();
    if signed || !lossless {
        return Err(NodeError::new(Code::InvalidArgument, format!("usdt {what} must be a u64")));
    }
    Ok(v)
}

/// perf_event_open(2) flag: the new fd is close-on-exec.
const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 8;

/// `perf_event_attr` up to `PERF_ATTR_SIZE_VER5` (112 bytes), as 14 words.
const ATTR_WORDS: usize = 14;

/// The uprobe PMU's perf type and the bit position of `ref_ctr_offset` in `config`.
fn uprobe_pmu() -> Result<(u32, u32)> {
    let dir = "/sys/bus/event_source/devices/uprobe";
    let read = |file: &str| {
        std::fs::read_to_string(format!("{dir}/{file}")).map_err(|e| {
            NodeError::new(Code::Unsupported, format!("the kernel has no uprobe PMU ({dir}/{file}: {e})"))
        })
    };
    let ty: u32 = read("type")?.trim().parse().map_err(|_| NodeError::new(Code::Unsupported, format!("unreadable {dir}/type")))?;
    // "config:32-63"
    let format = read("format/ref_ctr_offset").map_err(|_| {
        NodeError::new(Code::Unsupported, "the kernel's uprobes have no reference counter (semaphore) support (needs Linux 4.20)")
    })?;
    let shift = format
        .trim()
        .strip_prefix("config:")
        .and_then(|r| r.split('-').next())
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| NodeError::new(Code::Unsupported, format!("unexpected uprobe ref_ctr_offset format {format:?}")))?;
    Ok((ty, shift))
}

fn open_site(pmu: (u32, u32), path: &CString, offset: u64, ref_ctr: u64, pid: Option<u32>) -> Result<OwnedFd> {
    let (ty, shift) = pmu;
    if ref_ctr != 0 && (shift >= 64 || ref_ctr >> (64 - shift) != 0) {
        return Err(NodeError::new(Code::InvalidArgument, format!("semaphore offset {ref_ctr:#x} does not fit the uprobe PMU")));
    }
    let mut attr = [0u64; ATTR_WORDS];
    attr[0] = u64::from(ty) | ((ATTR_WORDS as u64 * 8) << 32); // type, size
    attr[1] = if ref_ctr == 0 { 0 } else { ref_ctr << shift }; // config
    attr[2] = 1; // sample_period
    attr[7] = path.as_ptr() as u64; // config1: uprobe_path
    attr[8] = offset; // config2: probe_offset
    let (pid, cpu) = match pid {
        Some(pid) => (pid as i32, -1),
        None => (-1, 0),
    };
    // SAFETY: attr is a valid perf_event_attr of the size it declares; the path outlives the call.
    let ret = unsafe {
        libc::syscall(libc::SYS_perf_event_open, attr.as_ptr(), pid, cpu, -1 as libc::c_int, PERF_FLAG_FD_CLOEXEC)
    };
    if ret < 0 {
        return Err(NodeError::syscall("perf_event_open (uprobe)", std::io::Error::last_os_error()));
    }
    Ok(sys::owned_fd(ret))
}

fn link_perf_event(prog: i32, event: &OwnedFd, cookie: u64) -> Result<OwnedFd> {
    // SAFETY: `prog` is the program's fd, open for the duration of this call (the caller holds
    // the object's lock).
    let prog = unsafe { std::os::fd::BorrowedFd::borrow_raw(prog) };
    sys::prog::link_perf_event(prog, event.as_fd(), cookie).map_err(|e| {
        let mut err = NodeError::syscall("bpf(BPF_LINK_CREATE, perf event)", e.io);
        if err.errno == Some(libc::EINVAL) {
            err.message.push_str(" (BPF links with cookies on perf events need Linux 5.15)");
        }
        err
    })
}

#[napi]
impl EbpfObject {
    /// Loads the uprobe program `program` (if not loaded yet) and attaches it at every USDT
    /// site given, each with its cookie and semaphore; one link for all of them.
    #[napi]
    pub fn attach_usdt(&self, program: String, at: UsdtAttach) -> napi::Result<Link> {
        if at.sites.is_empty() || at.sites.len() > MAX_SITES {
            return Err(NodeError::new(Code::InvalidArgument, format!("usdt: between 1 and {MAX_SITES} sites, got {}", at.sites.len())).into());
        }
        if at.pid == Some(0) {
            return Err(NodeError::new(Code::InvalidArgument, "pid 0 is not a process").into());
        }
        let path = CString::new(at.path.as_str())
            .map_err(|_| NodeError::new(Code::InvalidArgument, "usdt path contains a NUL byte"))?;
        let sites = at
            .sites
            .iter()
            .map(|s| Ok((u64_of(&s.offset, "offset")?, u64_of(&s.ref_ctr_offset, "refCtrOffset")?, u64_of(&s.cookie, "cookie")?)))
            .collect::<Result<Vec<_>>>()?;
        let pmu = uprobe_pmu()?;
        let events = {
            let mut state = lock(&self.state);
            let prog = typed(&mut state, &program, "uprobe", |p| match p {
                Program::UProbe(p) => Some(p),
                _ => None,
            })?;
            if matches!(prog.kind(), ProbeKind::Return) {
                return Err(NodeError::new(Code::WrongType, format!("program `{program}` is a uretprobe; USDT probes need a #[uprobe]")).into());
            }
            if prog.fd().is_err() {
                prog.load().context(|| format!("loading program `{program}`"))?;
            }
            let prog_fd = prog.fd().context(|| format!("program `{program}`"))?.as_fd().as_raw_fd();
            let mut events = Vec::with_capacity(sites.len());
            for (offset, ref_ctr, cookie) in sites {
                let event = open_site(pmu, &path, offset, ref_ctr, at.pid).map_err(|mut e| {
                    e.message = format!("attaching `{program}` to {}+{offset:#x}: {}", at.path, e.message);
                    if e.errno == Some(libc::ESRCH) {
                        e.code = Code::NotFound;
                        e.message.push_str(" (no such process)");
                    }
                    e
                })?;
                let link = link_perf_event(prog_fd, &event, cookie)?;
                events.push((event, link));
            }
            events
        };
        Ok(self.link("usdt", Box::new(UsdtLink { events })))
    }
}

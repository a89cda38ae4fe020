//! Feature probing: which program types, map types and helpers this kernel supports, and a
//! few named features (BTF, ring buffer, TCX, kprobes, bpffs). Tests use it to decide skips.
//!
//! Names are the kernel's (as `bpftool feature` prints them), from the one table in `kinds`:
//! program types `xdp`, `sched_cls`, `socket_filter`...; map types `hash`, `ringbuf`...



use aya::{maps::MapType, programs::ProgramType};
use napi_derive::napi;

use crate::{
    error::{AyaContext, Code, NodeError, Result},
    kinds, sys,
};

/// The program types Aya can probe. Their names come from the one table in `kinds`.
const PROGRAM_TYPES: &[ProgramType] = &[
    ProgramType::SocketFilter,
    ProgramType::KProbe,
    ProgramType::SchedClassifier,
    ProgramType::SchedAction,
    ProgramType::TracePoint,
    ProgramType::Xdp,
    ProgramType::PerfEvent,
    ProgramType::CgroupSkb,
    ProgramType::CgroupSock,
    ProgramType::LwtInput,
    ProgramType::LwtOutput,
    ProgramType::LwtXmit,
    ProgramType::SockOps,
    ProgramType::SkSkb,
    ProgramType::CgroupDevice,
    ProgramType::SkMsg,
    ProgramType::RawTracePoint,
    ProgramType::CgroupSockAddr,
    ProgramType::LwtSeg6local,
    ProgramType::LircMode2,
    ProgramType::SkReuseport,
    ProgramType::FlowDissector,
    ProgramType::CgroupSysctl,
    ProgramType::RawTracePointWritable,
    ProgramType::CgroupSockopt,
    ProgramType::Tracing,
    ProgramType::StructOps,
    ProgramType::Extension,
    ProgramType::Lsm(aya::programs::LsmAttachType::Mac),
    ProgramType::SkLookup,
    ProgramType::Syscall,
    ProgramType::Netfilter,
];

fn program_type_number(ty: ProgramType) -> u32 {
    aya_obj::generated::bpf_prog_type::from(ty) as u32
}

/// The kernel number and Aya type of program type `name`.
fn program_type(name: &str) -> Result<(u32, ProgramType)> {
    kinds::program_type_number(name)
        .and_then(|n| PROGRAM_TYPES.iter().find(|&&ty| program_type_number(ty) == n).map(|&ty| (n, ty)))
        .ok_or_else(|| {
            NodeError::new(Code::InvalidArgument, format!("unknown program type `{name}` (known: {})", known_program_types().join(", ")))
        })
}

/// Aya's type for map type `name`.
fn map_type(name: &str) -> Result<MapType> {
    kinds::map_type_number(name)
        .and_then(kinds::map_type_enum)
        .and_then(|ty| MapType::try_from(ty).ok())
        .ok_or_else(|| NodeError::new(Code::InvalidArgument, format!("unknown map type `{name}` (known: {})", known_map_types().join(", "))))
}

/// Kernel names of every program type the probes know.
#[napi]
pub fn known_program_types() -> Vec<String> {
    PROGRAM_TYPES.iter().map(|&ty| kinds::program_type_name(program_type_number(ty))).collect()
}

/// Kernel names of every map type the probes know.
#[napi]
pub fn known_map_types() -> Vec<String> {
    (1..aya_obj::generated::bpf_map_type::__MAX_BPF_MAP_TYPE as u32)
        .filter(|&n| kinds::map_type_enum(n).is_some_and(|ty| MapType::try_from(ty).is_ok()))
        .map(kinds::map_type_name)
        .collect()
}

/// Whether the kernel can load programs of type `name` (e.g. `xdp`).
#[napi]
pub fn is_program_type_supported(name: String) -> napi::Result<bool> {
    let (_, ty) = program_type(&name)?;
    Ok(aya::sys::is_program_supported(ty).context(|| format!("probing program type {name}"))?)
}

/// Whether the kernel can create maps of type `name` (e.g. `ringbuf`).
#[napi]
pub fn is_map_type_supported(name: String) -> napi::Result<bool> {
    let ty = map_type(&name)?;
    Ok(aya::sys::is_map_supported(ty).context(|| format!("probing map type {name}"))?)
}

/// Whether programs of type `program_type` may call helper number `helper` (see
/// `enum bpf_func_id`, e.g. 1 = map_lookup_elem, 130 = ringbuf_output). Loads a two-instruction
/// program that calls it and looks for the verifier's "unknown func" verdict, as libbpf does.
#[napi]
pub fn is_helper_supported(program_type_name: String, helper: u32) -> napi::Result<bool> {
    let (number, _) = program_type(&program_type_name)?;
    // call helper; r0 = 0; exit
    let insns: [u64; 3] = [
        0x85 | (u64::from(helper) << 32),
        0xb7,
        0x95,
    ];
    let mut log = vec![0u8; 4096];
    match sys::prog::load_raw(number, &insns, &mut log) {
        Ok(fd) => {
            drop(fd);
            Ok(true)
        }
        Err(e) if e.errno() == libc::EPERM => Err(NodeError::from(e).into()),
        Err(_) => {
            let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
            let text = String::from_utf8_lossy(&log[..end]);
            // Anything other than "unknown/invalid func" means the helper itself was accepted.
            Ok(!(text.contains("invalid func ")
                || text.contains("unknown func ")
                || text.contains("cannot use helper")
                || text.is_empty()))
        }
    }
}

#[napi(object)]
pub struct KernelFeatures {
    /// The kernel exposes its own BTF (`/sys/kernel/btf/vmlinux`): CO-RE and BTF-typed programs work.
    pub btf: bool,
    pub ring_buf: bool,
    /// TCX (multi-program TC through links, Linux 6.6+).
    pub tcx: bool,
    /// kprobes can be created (CONFIG_KPROBES and a kprobe PMU or tracefs kprobe_events).
    pub kprobe: bool,
    /// Why kprobes are unavailable, when they are.
    pub kprobe_reason: Option<String>,
    pub uprobe: bool,
    /// A bpffs is mounted at /sys/fs/bpf.
    pub bpffs: bool,
    /// `BPF_PROG_TEST_RUN` works (probed with an XDP program).
    pub test_run: bool,
    /// `BPF_ENABLE_STATS` works.
    pub stats: bool,
}

/// TCX: a query of the loopback's tcx ingress chain succeeds only where TCX exists.
fn probe_tcx() -> bool {
    sys::prog::query_attached(1, sys::prog::bpf_attach_type::BPF_TCX_INGRESS).is_ok()
}

/// Why this kernel cannot attach kprobes, if it cannot: neither the `kprobe` perf PMU nor the
/// tracefs `kprobe_events` file exists. Computed once per process; the one answer behind
/// `kernelFeatures().kprobeReason`, `KProbe.unsupportedReason()` and the attach error.
pub fn kprobes_unsupported() -> Option<&'static str> {
    static REASON: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    REASON
        .get_or_init(|| {
            let pmu = std::path::Path::new("/sys/bus/event_source/devices/kprobe/type");
            let events = ["/sys/kernel/tracing/kprobe_events", "/sys/kernel/debug/tracing/kprobe_events"];
            if pmu.exists() || events.iter().any(|p| std::path::Path::new(p).exists()) {
                return None;
            }
            Some(format!(
                "this kernel has no kprobe support (no {} and no kprobe_events in tracefs; built without CONFIG_KPROBES?)",
                pmu.display()
            ))
        })
        .as_deref()
}

fn probe_stats() -> bool {
    aya::sys::enable_stats(aya::sys::Stats::RunTime).is_ok()
}

fn probe_test_run() -> bool {
    let insns: [u64; 2] = [0xb7 | (2u64 << 32), 0x95]; // r0 = XDP_PASS; exit
    let xdp = sys::prog::bpf_prog_type::BPF_PROG_TYPE_XDP as u32;
    let Ok(fd) = sys::prog::load_raw(xdp, &insns, &mut []) else { return false };
    let packet = [0u8; 64];
    let mut out = [0u8; 64];
    let run = crate::programs::test_run::test_run_fd(
        std::os::fd::AsFd::as_fd(&fd),
        crate::programs::test_run::TestRunInput { data_in: &packet, data_out: Some(&mut out), ..Default::default() },
    );
    matches!(run, Ok(r) if r.return_value == 2)
}

/// Probes the named features at once.
#[napi]
pub fn kernel_features() -> KernelFeatures {
    let kprobe_reason = kprobes_unsupported().map(str::to_string);
    let uprobe = std::path::Path::new("/sys/bus/event_source/devices/uprobe/type").exists()
        || std::path::Path::new("/sys/kernel/tracing/uprobe_events").exists();
    KernelFeatures {
        btf: std::path::Path::new("/sys/kernel/btf/vmlinux").exists(),
        ring_buf: aya::sys::is_map_supported(MapType::RingBuf).unwrap_or(false),
        tcx: probe_tcx(),
        kprobe: kprobe_reason.is_none(),
        kprobe_reason,
        uprobe,
        bpffs: sys::check_bpffs("/sys/fs/bpf/x").is_ok(),
        test_run: probe_test_run(),
        stats: probe_stats(),
    }
}


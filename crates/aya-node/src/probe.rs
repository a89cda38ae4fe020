//! Feature probing: which program types, map types and helpers this kernel supports, and a
//! few named features (BTF, ring buffer, TCX, kprobes, bpffs). Tests use it to decide skips.
//!
//! Names are the kernel's (as `bpftool feature` prints them): program types `xdp`,
//! `sched_cls`, `socket_filter`...; map types `hash`, `ringbuf`, `lru_hash`...



use aya::{maps::MapType, programs::ProgramType};
use napi_derive::napi;

use crate::{
    error::{AyaContext, Code, NodeError, Result},
    sys::{self, bpf, ProgLoadAttr},
};

/// Program types: kernel name, Aya's type (its discriminant order is the kernel's).
const PROGRAM_TYPES: &[(&str, ProgramType)] = &[
    ("socket_filter", ProgramType::SocketFilter),
    ("kprobe", ProgramType::KProbe),
    ("sched_cls", ProgramType::SchedClassifier),
    ("sched_act", ProgramType::SchedAction),
    ("tracepoint", ProgramType::TracePoint),
    ("xdp", ProgramType::Xdp),
    ("perf_event", ProgramType::PerfEvent),
    ("cgroup_skb", ProgramType::CgroupSkb),
    ("cgroup_sock", ProgramType::CgroupSock),
    ("lwt_in", ProgramType::LwtInput),
    ("lwt_out", ProgramType::LwtOutput),
    ("lwt_xmit", ProgramType::LwtXmit),
    ("sock_ops", ProgramType::SockOps),
    ("sk_skb", ProgramType::SkSkb),
    ("cgroup_device", ProgramType::CgroupDevice),
    ("sk_msg", ProgramType::SkMsg),
    ("raw_tracepoint", ProgramType::RawTracePoint),
    ("cgroup_sock_addr", ProgramType::CgroupSockAddr),
    ("lwt_seg6local", ProgramType::LwtSeg6local),
    ("lirc_mode2", ProgramType::LircMode2),
    ("sk_reuseport", ProgramType::SkReuseport),
    ("flow_dissector", ProgramType::FlowDissector),
    ("cgroup_sysctl", ProgramType::CgroupSysctl),
    ("raw_tracepoint_writable", ProgramType::RawTracePointWritable),
    ("cgroup_sockopt", ProgramType::CgroupSockopt),
    ("tracing", ProgramType::Tracing),
    ("struct_ops", ProgramType::StructOps),
    ("ext", ProgramType::Extension),
    ("lsm", ProgramType::Lsm(aya::programs::LsmAttachType::Mac)),
    ("sk_lookup", ProgramType::SkLookup),
    ("syscall", ProgramType::Syscall),
    ("netfilter", ProgramType::Netfilter),
];

const MAP_TYPES: &[(&str, MapType)] = &[
    ("hash", MapType::Hash),
    ("array", MapType::Array),
    ("prog_array", MapType::ProgramArray),
    ("perf_event_array", MapType::PerfEventArray),
    ("percpu_hash", MapType::PerCpuHash),
    ("percpu_array", MapType::PerCpuArray),
    ("stack_trace", MapType::StackTrace),
    ("cgroup_array", MapType::CgroupArray),
    ("lru_hash", MapType::LruHash),
    ("lru_percpu_hash", MapType::LruPerCpuHash),
    ("lpm_trie", MapType::LpmTrie),
    ("array_of_maps", MapType::ArrayOfMaps),
    ("hash_of_maps", MapType::HashOfMaps),
    ("devmap", MapType::DevMap),
    ("sockmap", MapType::SockMap),
    ("cpumap", MapType::CpuMap),
    ("xskmap", MapType::XskMap),
    ("sockhash", MapType::SockHash),
    ("cgroup_storage", MapType::CgroupStorage),
    ("reuseport_sockarray", MapType::ReuseportSockArray),
    ("percpu_cgroup_storage", MapType::PerCpuCgroupStorage),
    ("queue", MapType::Queue),
    ("stack", MapType::Stack),
    ("sk_storage", MapType::SkStorage),
    ("devmap_hash", MapType::DevMapHash),
    ("struct_ops", MapType::StructOps),
    ("ringbuf", MapType::RingBuf),
    ("inode_storage", MapType::InodeStorage),
    ("task_storage", MapType::TaskStorage),
    ("bloom_filter", MapType::BloomFilter),
    ("user_ringbuf", MapType::UserRingBuf),
    ("cgrp_storage", MapType::CgrpStorage),
    ("arena", MapType::Arena),
];

fn program_type(name: &str) -> Result<(usize, ProgramType)> {
    PROGRAM_TYPES
        .iter()
        .position(|(n, _)| *n == name)
        .map(|i| (i + 1, PROGRAM_TYPES[i].1))
        .ok_or_else(|| {
            let known: Vec<&str> = PROGRAM_TYPES.iter().map(|(n, _)| *n).collect();
            NodeError::new(Code::InvalidArgument, format!("unknown program type `{name}` (known: {})", known.join(", ")))
        })
}

/// Kernel names of every program type this module knows.
#[napi]
pub fn known_program_types() -> Vec<String> {
    PROGRAM_TYPES.iter().map(|(n, _)| n.to_string()).collect()
}

/// Kernel names of every map type this module knows.
#[napi]
pub fn known_map_types() -> Vec<String> {
    MAP_TYPES.iter().map(|(n, _)| n.to_string()).collect()
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
    let ty = MAP_TYPES.iter().find(|(n, _)| *n == name).map(|(_, t)| *t).ok_or_else(|| {
        NodeError::new(Code::InvalidArgument, format!("unknown map type `{name}`"))
    })?;
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
    let license = c"GPL";
    let mut log = vec![0u8; 4096];
    let mut attr = ProgLoadAttr {
        prog_type: number as u32,
        insn_cnt: insns.len() as u32,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        log_level: 1,
        log_size: log.len() as u32,
        log_buf: log.as_mut_ptr() as u64,
        ..Default::default()
    };
    // SAFETY: the instruction, license and log buffers outlive the call.
    match unsafe { bpf(sys::BPF_PROG_LOAD, &mut attr) } {
        Ok(fd) => {
            drop(sys::owned_fd(fd));
            Ok(true)
        }
        Err(e) if matches!(e.raw_os_error(), Some(libc::EPERM)) => Err(NodeError::syscall("BPF_PROG_LOAD", e).into()),
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

#[repr(C)]
#[derive(Default)]
struct ProgQueryAttr {
    target: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
    _pad: u32,
    prog_attach_flags: u64,
    link_ids: u64,
    link_attach_flags: u64,
    revision: u64,
}

const BPF_PROG_QUERY: u32 = 16;
const BPF_TCX_INGRESS: u32 = 46;

/// TCX: a query of the loopback's tcx ingress chain succeeds only where TCX exists.
fn probe_tcx() -> bool {
    let mut attr = ProgQueryAttr { target: 1, attach_type: BPF_TCX_INGRESS, ..Default::default() };
    // SAFETY: no pointers are passed (prog_cnt 0).
    unsafe { bpf(BPF_PROG_QUERY, &mut attr) }.is_ok()
}

fn kprobe_reason() -> Option<String> {
    let pmu = std::path::Path::new("/sys/bus/event_source/devices/kprobe/type").exists();
    let tracefs = ["/sys/kernel/tracing/kprobe_events", "/sys/kernel/debug/tracing/kprobe_events"]
        .iter()
        .any(|p| std::path::Path::new(p).exists());
    if pmu || tracefs {
        return None;
    }
    Some(
        "kprobes are not available: no kprobe PMU (/sys/bus/event_source/devices/kprobe) and no \
         tracefs kprobe_events; the kernel is built without CONFIG_KPROBES (or tracefs is not mounted)"
            .to_string(),
    )
}

fn probe_stats() -> bool {
    aya::sys::enable_stats(aya::sys::Stats::RunTime).is_ok()
}

fn probe_test_run() -> bool {
    let insns: [u64; 2] = [0xb7 | (2u64 << 32), 0x95]; // r0 = XDP_PASS; exit
    let license = c"GPL";
    let mut attr = ProgLoadAttr {
        prog_type: 6,
        insn_cnt: 2,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        ..Default::default()
    };
    // SAFETY: buffers outlive the call.
    let Ok(fd) = (unsafe { bpf(sys::BPF_PROG_LOAD, &mut attr) }) else { return false };
    let fd = sys::owned_fd(fd);
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
    let kprobe_reason = kprobe_reason();
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


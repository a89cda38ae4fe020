//! The one vocabulary for kinds: kernel map and program types named as the kernel (and
//! bpftool) name them, `enum bpf_map_type` / `enum bpf_prog_type` without their prefix and in
//! lower case (`devmap_hash`, `sched_cls`). The names are derived from aya-obj's generated
//! bindings, so there is no hand-written list to drift; every listing (an object's maps and
//! programs, `loadedMaps()`, `loadedPrograms()`, the feature probes, TypeScript's `MapType`)
//! names kinds through here.
//!
//! Also the tables over every variant of Aya's `Program` and `Map` enums: the `MapData` inside
//! a map, and Aya's finer program kind (how a program attaches: `uprobe` or `kprobe`, `fentry`
//! or `fexit`), which the TypeScript classes key on.

use std::sync::OnceLock;

use aya::{
    maps::{Map, MapData},
    programs::Program,
};
use aya_obj::generated::{bpf_map_type, bpf_prog_type};
use napi_derive::napi;

/// `BPF_MAP_TYPE_DEVMAP_HASH` -> `devmap_hash`; the two deprecated cgroup storage names keep
/// the name bpftool prints.
fn kernel_name(debug: String, prefix: &str) -> String {
    let name = debug.strip_prefix(prefix).unwrap_or(&debug).to_ascii_lowercase();
    name.strip_suffix("_deprecated").map(str::to_string).unwrap_or(name)
}

/// The names of kernel types `0..max`, from `debug_name(n)` (the generated enum's variant name).
fn names(max: u32, prefix: &str, debug_name: impl Fn(u32) -> String) -> Vec<String> {
    (0..max).map(|n| kernel_name(debug_name(n), prefix)).collect()
}

fn map_names() -> &'static [String] {
    static NAMES: OnceLock<Vec<String>> = OnceLock::new();
    NAMES.get_or_init(|| {
        names(bpf_map_type::__MAX_BPF_MAP_TYPE as u32, "BPF_MAP_TYPE_", |n| {
            // SAFETY: bpf_map_type is repr(u32) with every value below its __MAX defined.
            format!("{:?}", unsafe { std::mem::transmute::<u32, bpf_map_type>(n) })
        })
    })
}

fn program_names() -> &'static [String] {
    static NAMES: OnceLock<Vec<String>> = OnceLock::new();
    NAMES.get_or_init(|| {
        names(bpf_prog_type::__MAX_BPF_PROG_TYPE as u32, "BPF_PROG_TYPE_", |n| {
            // SAFETY: bpf_prog_type is repr(u32) with every value below its __MAX defined.
            format!("{:?}", unsafe { std::mem::transmute::<u32, bpf_prog_type>(n) })
        })
    })
}

/// The name of kernel map type `n` (`type N` for one newer than the bindings).
pub fn map_type_name(n: u32) -> String {
    map_names().get(n as usize).cloned().unwrap_or_else(|| format!("type {n}"))
}

/// The name of kernel program type `n` (`type N` for one newer than the bindings).
pub fn program_type_name(n: u32) -> String {
    program_names().get(n as usize).cloned().unwrap_or_else(|| format!("type {n}"))
}

/// The number of the map type named `name`.
pub fn map_type_number(name: &str) -> Option<u32> {
    map_names().iter().position(|n| n == name).filter(|&i| i > 0).map(|i| i as u32)
}

/// The number of the program type named `name`.
pub fn program_type_number(name: &str) -> Option<u32> {
    program_names().iter().position(|n| n == name).filter(|&i| i > 0).map(|i| i as u32)
}

/// The generated enum value of map type `n`, when the bindings know it.
pub fn map_type_enum(n: u32) -> Option<bpf_map_type> {
    // SAFETY: checked against __MAX, as above.
    (n < bpf_map_type::__MAX_BPF_MAP_TYPE as u32).then(|| unsafe { std::mem::transmute::<u32, bpf_map_type>(n) })
}

/// One kernel type: its number and name.
#[napi(object)]
pub struct KernelType {
    pub value: u32,
    pub name: String,
}

/// The kernel's map and program types (`unspec` left out), named as bpftool names them.
#[napi(object)]
pub struct KernelTypes {
    pub maps: Vec<KernelType>,
    pub programs: Vec<KernelType>,
}

/// The one table of kind names, for the TypeScript layer.
#[napi]
pub fn kernel_types() -> KernelTypes {
    let list = |names: &[String]| {
        names.iter().enumerate().skip(1).map(|(i, name)| KernelType { value: i as u32, name: name.clone() }).collect()
    };
    KernelTypes { maps: list(map_names()), programs: list(program_names()) }
}

/// The kernel program type of an object's program (`sched_cls` for Aya's `classifier`).
pub fn program_type(program: &Program) -> String {
    program_type_name(bpf_prog_type::from(program.prog_type()) as u32)
}

/// The `MapData` inside any variant of Aya's `Map`.
pub fn map_data(map: &Map) -> &MapData {
    match map {
        Map::Array(m)
        | Map::ArrayOfMaps(m)
        | Map::BloomFilter(m)
        | Map::CgroupArray(m)
        | Map::CgroupStorage(m)
        | Map::CgrpStorage(m)
        | Map::CpuMap(m)
        | Map::DevMap(m)
        | Map::DevMapHash(m)
        | Map::HashMap(m)
        | Map::HashOfMaps(m)
        | Map::InodeStorage(m)
        | Map::LpmTrie(m)
        | Map::LruHashMap(m)
        | Map::PerCpuArray(m)
        | Map::PerCpuCgroupStorage(m)
        | Map::PerCpuHashMap(m)
        | Map::PerCpuLruHashMap(m)
        | Map::PerfEventArray(m)
        | Map::ProgramArray(m)
        | Map::Queue(m)
        | Map::ReusePortSockArray(m)
        | Map::RingBuf(m)
        | Map::SockHash(m)
        | Map::SockMap(m)
        | Map::SkStorage(m)
        | Map::Stack(m)
        | Map::StackTraceMap(m)
        | Map::Unsupported(m)
        | Map::XskMap(m) => m,
    }
}

/// Aya's name for a program's kind: how it attaches, finer than the kernel's program type
/// (`uprobe` and `kprobe` are both `kprobe` programs; `fentry`, `fexit`, `btf_tracepoint`
/// and `iter` are all `tracing`).
pub fn program_kind(program: &Program) -> &'static str {
    match program {
        Program::KProbe(_) => "kprobe",
        Program::UProbe(_) => "uprobe",
        Program::TracePoint(_) => "tracepoint",
        Program::SocketFilter(_) => "socket_filter",
        Program::Xdp(_) => "xdp",
        Program::SkMsg(_) => "sk_msg",
        Program::SkSkb(_) => "sk_skb",
        Program::SockOps(_) => "sock_ops",
        Program::SchedClassifier(_) => "sched_cls",
        Program::CgroupSkb(_) => "cgroup_skb",
        Program::CgroupSysctl(_) => "cgroup_sysctl",
        Program::CgroupSockopt(_) => "cgroup_sockopt",
        Program::LircMode2(_) => "lirc_mode2",
        Program::PerfEvent(_) => "perf_event",
        Program::RawTracePoint(_) => "raw_tracepoint",
        Program::Lsm(_) => "lsm",
        Program::LsmCgroup(_) => "lsm_cgroup",
        Program::BtfTracePoint(_) => "btf_tracepoint",
        Program::FEntry(_) => "fentry",
        Program::FExit(_) => "fexit",
        Program::Extension(_) => "ext",
        Program::CgroupSockAddr(_) => "cgroup_sock_addr",
        Program::SkLookup(_) => "sk_lookup",
        Program::CgroupSock(_) => "cgroup_sock",
        Program::CgroupDevice(_) => "cgroup_device",
        Program::Iter(_) => "iter",
        Program::FlowDissector(_) => "flow_dissector",
        Program::SkReuseport(_) => "sk_reuseport",
        Program::ReusePortSocketFilter(_) => "reuseport_socket_filter",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_kernels_as_bpftool_prints_them() {
        assert_eq!(map_type_name(1), "hash");
        assert_eq!(map_type_name(25), "devmap_hash");
        assert_eq!(map_type_name(19), "cgroup_storage");
        assert_eq!(map_type_name(21), "percpu_cgroup_storage");
        assert_eq!(map_type_name(27), "ringbuf");
        assert_eq!(program_type_name(3), "sched_cls");
        assert_eq!(program_type_name(26), "tracing");
        assert_eq!(program_type_name(28), "ext");
        assert_eq!(map_type_name(999), "type 999");
    }

    #[test]
    fn names_and_numbers_round_trip_and_unspec_is_no_type() {
        for n in 1..bpf_map_type::__MAX_BPF_MAP_TYPE as u32 {
            assert_eq!(map_type_number(&map_type_name(n)), Some(n));
        }
        for n in 1..bpf_prog_type::__MAX_BPF_PROG_TYPE as u32 {
            assert_eq!(program_type_number(&program_type_name(n)), Some(n));
        }
        assert_eq!(map_type_number("unspec"), None);
        assert_eq!(map_type_number("dev_map_hash"), None, "Aya's spelling is not a kind name");
        let types = kernel_types();
        assert_eq!(types.maps.first().map(|t| (t.value, t.name.as_str())), Some((1, "hash")));
        assert!(types.programs.iter().any(|t| t.name == "lsm" && t.value == 29));
    }
}

//! Tables over every variant of Aya's `Program` and `Map` enums: the kind name each has in
//! listings, and (for maps) the `MapData` inside.

use aya::{
    maps::{Map, MapData},
    programs::Program,
};

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

/// The map's kind as the TypeScript layer names it.
pub fn map_kind(map: &Map) -> &'static str {
    match map {
        Map::Array(_) => "array",
        Map::ArrayOfMaps(_) => "array_of_maps",
        Map::BloomFilter(_) => "bloom_filter",
        Map::CgroupArray(_) => "cgroup_array",
        Map::CgroupStorage(_) => "cgroup_storage",
        Map::CgrpStorage(_) => "cgrp_storage",
        Map::CpuMap(_) => "cpu_map",
        Map::DevMap(_) => "dev_map",
        Map::DevMapHash(_) => "dev_map_hash",
        Map::HashMap(_) => "hash",
        Map::HashOfMaps(_) => "hash_of_maps",
        Map::InodeStorage(_) => "inode_storage",
        Map::LpmTrie(_) => "lpm_trie",
        Map::LruHashMap(_) => "lru_hash",
        Map::PerCpuArray(_) => "percpu_array",
        Map::PerCpuCgroupStorage(_) => "percpu_cgroup_storage",
        Map::PerCpuHashMap(_) => "percpu_hash",
        Map::PerCpuLruHashMap(_) => "lru_percpu_hash",
        Map::PerfEventArray(_) => "perf_event_array",
        Map::ProgramArray(_) => "prog_array",
        Map::Queue(_) => "queue",
        Map::ReusePortSockArray(_) => "reuseport_sockarray",
        Map::RingBuf(_) => "ringbuf",
        Map::SockHash(_) => "sockhash",
        Map::SockMap(_) => "sockmap",
        Map::SkStorage(_) => "sk_storage",
        Map::Stack(_) => "stack",
        Map::StackTraceMap(_) => "stack_trace",
        Map::Unsupported(_) => "unsupported",
        Map::XskMap(_) => "xskmap",
    }
}

/// Aya's name for a program's kind, as the TypeScript layer knows it.
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
        Program::SchedClassifier(_) => "classifier",
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
        Program::Extension(_) => "extension",
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

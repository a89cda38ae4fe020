//! Map handles. One file per map family.

pub mod perf_event_array;
pub mod ring_buf;

use aya::maps::{Map, MapData};

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

pub mod batch;
pub mod bench;
pub mod bloom_filter;
pub mod handle;
pub mod of_maps;
pub mod per_cpu;
pub mod program_array;
pub mod sock;
pub mod stack_trace;
pub mod sys;

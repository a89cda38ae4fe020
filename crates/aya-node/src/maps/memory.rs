//! Refuses maps whose declared size the machine cannot hold, before the kernel tries. Creating
//! a preallocated map (arrays, per-CPU arrays, hashes without BPF_F_NO_PREALLOC, ring buffers)
//! allocates all of it at once; for a size beyond the memory available (a corrupt or hostile
//! `max_entries`) that does not fail cleanly: the kernel goes on until the OOM killer ends this
//! or another process. Such a map could not be created without that, so refusing it loses nothing.

use std::collections::HashMap;

use crate::error::{Code, NodeError, Result};

// Map types (enum bpf_map_type) that allocate their whole size at creation.
const HASH: u32 = 1;
const ARRAY: u32 = 2;
const PERCPU_HASH: u32 = 5;
const PERCPU_ARRAY: u32 = 6;
const LRU_HASH: u32 = 9;
const LRU_PERCPU_HASH: u32 = 10;
const RINGBUF: u32 = 27;
const BPF_F_NO_PREALLOC: u32 = 1;

/// Bytes the kernel allocates up front for a map so declared (0 for maps it grows on demand).
/// Element overheads (hash buckets, headers) are left out: this is a lower bound.
pub fn preallocated_bytes(map_type: u32, key: u32, value: u32, max_entries: u32, flags: u32, cpus: u32) -> u128 {
    let entries = u128::from(max_entries);
    let value8 = u128::from(value.div_ceil(8) * 8);
    match map_type {
        ARRAY => entries * value8,
        PERCPU_ARRAY => entries * value8 * u128::from(cpus),
        HASH | PERCPU_HASH if flags & BPF_F_NO_PREALLOC != 0 => 0,
        HASH | LRU_HASH => entries * (u128::from(key) + value8),
        PERCPU_HASH | LRU_PERCPU_HASH => entries * (u128::from(key) + value8 * u128::from(cpus)),
        RINGBUF => entries,
        _ => 0,
    }
}

/// Memory the machine can still give, in bytes: `MemAvailable` of /proc/meminfo (free plus
/// reclaimable; a map larger than that ends in the OOM killer too), else all physical memory
/// (`None` if neither is known).
fn available_memory() -> Option<u128> {
    if let Ok(meminfo) = std::fs::read_to_string("/proc/meminfo") {
        if let Some(kib) = mem_available_kib(&meminfo) {
            return Some(kib * 1024);
        }
    }
    let mut info: libc::sysinfo = unsafe { std::mem::zeroed() };
    // SAFETY: sysinfo fills the struct it is given.
    if unsafe { libc::sysinfo(&mut info) } != 0 {
        return None;
    }
    Some(u128::from(info.totalram as u64) * u128::from(info.mem_unit))
}

/// The `MemAvailable:` line of /proc/meminfo, in KiB.
fn mem_available_kib(meminfo: &str) -> Option<u128> {
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Checks every map `data` declares (with the `maxEntries` overrides applied) against the
/// memory the machine can still give. An ELF aya-obj cannot parse is left to Aya, which reports why.
pub fn check_map_memory(data: &[u8], max_entries: Option<&HashMap<String, u32>>) -> Result<()> {
    let Some(limit) = available_memory() else { return Ok(()) };
    let Ok(object) = std::panic::catch_unwind(|| aya_obj::Object::parse(data)) else { return Ok(()) };
    let Ok(object) = object else { return Ok(()) };
    let cpus = crate::maps::per_cpu::possible_cpu_count().unwrap_or(1);
    for (name, map) in &object.maps {
        let entries = max_entries.and_then(|m| m.get(name)).copied().unwrap_or_else(|| map.max_entries());
        let bytes = preallocated_bytes(map.map_type(), map.key_size(), map.value_size(), entries, map.map_flags(), cpus);
        if bytes > limit {
            return Err(NodeError::new(
                Code::InvalidArgument,
                format!("map `{name}` would take {bytes} bytes of kernel memory ({entries} entries), more than this machine has available ({limit}); lower it with the maxEntries load option"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_of_preallocated_maps() {
        assert_eq!(preallocated_bytes(ARRAY, 4, 2864, 10, 0, 2), 28640);
        assert_eq!(preallocated_bytes(PERCPU_ARRAY, 4, 2860, 687_865_857, 0, 2), 687_865_857 * 2864 * 2);
        assert_eq!(preallocated_bytes(HASH, 4, 8, 100, 0, 2), 1200);
        assert_eq!(preallocated_bytes(HASH, 4, 8, u32::MAX, BPF_F_NO_PREALLOC, 2), 0, "grows on demand");
        assert_eq!(preallocated_bytes(RINGBUF, 0, 0, 1 << 20, 0, 2), 1 << 20);
        assert_eq!(preallocated_bytes(11, 8, 8, u32::MAX, 1, 2), 0, "an LPM trie grows on demand");
    }

    #[test]
    fn mem_available_from_meminfo() {
        let meminfo = "MemTotal:       24684084 kB\nMemFree:         1070724 kB\nMemAvailable:    6273240 kB\n";
        assert_eq!(mem_available_kib(meminfo), Some(6_273_240));
        assert_eq!(mem_available_kib("MemTotal: 1 kB\n"), None);
    }
}

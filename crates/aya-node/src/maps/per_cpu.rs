//! Per-CPU maps (`percpu_hash`, `lru_percpu_hash`, `percpu_array`): from user space a value is
//! one slot per *possible* CPU, each rounded up to 8 bytes. The handles exchange the whole
//! buffer; the TypeScript layer splits it into one decoded value per CPU.

use std::sync::OnceLock;

use napi_derive::napi;

use crate::error::{NodeError, Result};

pub const BPF_MAP_TYPE_PERCPU_HASH: u32 = 5;
pub const BPF_MAP_TYPE_PERCPU_ARRAY: u32 = 6;
pub const BPF_MAP_TYPE_LRU_PERCPU_HASH: u32 = 10;
pub const BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE: u32 = 21;

pub fn is_per_cpu(map_type: u32) -> bool {
    matches!(
        map_type,
        BPF_MAP_TYPE_PERCPU_HASH | BPF_MAP_TYPE_PERCPU_ARRAY | BPF_MAP_TYPE_LRU_PERCPU_HASH | BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE
    )
}

/// Parses a CPU list such as `0-3,5` into the number of the highest CPU plus one.
fn parse_cpu_count(list: &str) -> Option<u32> {
    let mut highest = None;
    for part in list.trim().split(',').filter(|p| !p.is_empty()) {
        let last = part.rsplit('-').next()?;
        let n: u32 = last.trim().parse().ok()?;
        highest = Some(highest.map_or(n, |h: u32| h.max(n)));
    }
    highest.map(|h| h + 1)
}

/// How many possible CPUs the kernel has slots for (`/sys/devices/system/cpu/possible`).
pub fn possible_cpu_count() -> Result<u32> {
    static COUNT: OnceLock<std::result::Result<u32, String>> = OnceLock::new();
    COUNT
        .get_or_init(|| {
            let path = "/sys/devices/system/cpu/possible";
            let text = std::fs::read_to_string(path).map_err(|e| format!("reading {path}: {e}"))?;
            parse_cpu_count(&text).ok_or_else(|| format!("cannot parse {path}: {text:?}"))
        })
        .clone()
        .map_err(|m| NodeError::new(crate::error::Code::Kernel, m))
}

/// Bytes of one value as user space sees it: per-CPU maps carry one 8-aligned slot per CPU.
pub fn user_value_size(map_type: u32, value_size: u32) -> Result<usize> {
    if is_per_cpu(map_type) {
        Ok(value_size.div_ceil(8) as usize * 8 * possible_cpu_count()? as usize)
    } else {
        Ok(value_size as usize)
    }
}

/// The number of possible CPUs: the length of a per-CPU map's value array.
#[napi]
pub fn possible_cpus() -> napi::Result<u32> {
    Ok(possible_cpu_count()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_give_the_highest_cpu_plus_one() {
        assert_eq!(parse_cpu_count("0"), Some(1));
        assert_eq!(parse_cpu_count("0-1\n"), Some(2));
        assert_eq!(parse_cpu_count("0-3,5"), Some(6));
        assert_eq!(parse_cpu_count("0,2-3,8-11"), Some(12));
        assert_eq!(parse_cpu_count("4,0-1"), Some(5), "order does not matter");
    }

    #[test]
    fn malformed_cpu_lists_are_refused() {
        assert_eq!(parse_cpu_count(""), None);
        assert_eq!(parse_cpu_count("\n"), None);
        assert_eq!(parse_cpu_count("a-b"), None);
        assert_eq!(parse_cpu_count("0-x"), None);
    }

    #[test]
    fn per_cpu_values_are_one_8_byte_slot_per_cpu() {
        assert!(is_per_cpu(BPF_MAP_TYPE_PERCPU_ARRAY));
        assert!(!is_per_cpu(1));
        let cpus = possible_cpu_count().unwrap() as usize;
        assert_eq!(user_value_size(BPF_MAP_TYPE_PERCPU_HASH, 4).unwrap(), 8 * cpus);
        assert_eq!(user_value_size(BPF_MAP_TYPE_PERCPU_HASH, 12).unwrap(), 16 * cpus);
        assert_eq!(user_value_size(1, 12).unwrap(), 12, "other maps: the value as it is");
    }
}

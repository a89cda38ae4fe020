//! Ring-buffer output that makes drops visible: when the ring is full the event is counted
//! in a per-CPU counter (entry 0 of a `PerCpuArray<u64>`) that user space sums up
//! (`RingBuf.drops()` in TypeScript, with the `dropCounter` option naming the map).

use aya_ebpf::maps::{ring_buf::RingBufEntry, PerCpuArray, RingBuf};

fn count_drop(drops: &PerCpuArray<u64>) {
    if let Some(slot) = drops.get_ptr_mut(0) {
        // Per-CPU slot: no other CPU writes it, and programs do not preempt each other on one CPU.
        unsafe { *slot += 1 };
    }
}

/// Copies `event` into `ring`, or counts a drop. Returns whether the event was written.
#[inline(always)]
pub fn output_or_count_drop<T>(ring: &RingBuf, drops: &PerCpuArray<u64>, event: &T) -> bool {
    match ring.output::<T>(event, 0) {
        Ok(()) => true,
        Err(_) => {
            count_drop(drops);
            false
        }
    }
}

/// Reserves room for a `T` in `ring`, or counts a drop and returns `None`.
#[inline(always)]
pub fn reserve_or_count_drop<T: 'static>(ring: &RingBuf, drops: &PerCpuArray<u64>) -> Option<RingBufEntry<T>> {
    let entry = ring.reserve::<T>(0);
    if entry.is_none() {
        count_drop(drops);
    }
    entry
}

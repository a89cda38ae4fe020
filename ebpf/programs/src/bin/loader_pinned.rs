//! A counter in a map pinned by name: with a pin directory, the map outlives the object and
//! the next load reuses it, so the count carries on.
#![no_std]
#![no_main]

use aya_ebpf::{macros::{map, socket_filter}, maps::Array, programs::SkBuffContext};

#[map]
static PINNED_COUNT: Array<u64> = Array::pinned(1, 0);

/// Adds one to the pinned counter and returns the new value.
#[socket_filter]
pub fn bump_pinned(_ctx: SkBuffContext) -> i64 {
    match PINNED_COUNT.get_ptr_mut(0) {
        Some(count) => unsafe {
            *count += 1;
            *count as i64
        },
        None => -1,
    }
}

aya_node_ebpf::object_support!("Dual MIT/GPL");

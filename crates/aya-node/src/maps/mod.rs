//! Map handles. One file per map family.

pub mod batch;
#[cfg(feature = "bench")]
pub mod bench;
pub mod bloom_filter;
pub mod handle;
pub mod memory;
pub mod of_maps;
pub mod per_cpu;
pub mod program_array;
pub mod sock;
pub mod stack_trace;
pub mod struct_ops;

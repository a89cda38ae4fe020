//! flow_dissector: counts the packets the kernel dissects in the network namespace it is
//! attached to (e.g. to hash them into fq_codel's flows), then lets the kernel's own dissector
//! do the work (BPF_FLOW_DISSECTOR_CONTINUE). With `DROP` set it answers BPF_DROP instead,
//! which makes the dissection fail.
#![no_std]
#![no_main]

use aya_ebpf::{
    bindings::bpf_ret_code::{BPF_DROP, BPF_FLOW_DISSECTOR_CONTINUE},
    macros::{flow_dissector, map},
    maps::PerCpuArray,
    programs::FlowDissectorContext,
};

#[unsafe(no_mangle)]
static DROP: u8 = 0;

/// Index 0: packets dissected, one counter per CPU (no atomics needed).
#[map]
static COUNT: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);

#[flow_dissector]
pub fn count_flows(_ctx: FlowDissectorContext) -> u32 {
    if let Some(count) = COUNT.get_ptr_mut(0) {
        unsafe { *count += 1 };
    }
    if unsafe { core::ptr::read_volatile(&DROP) } != 0 {
        return BPF_DROP;
    }
    BPF_FLOW_DISSECTOR_CONTINUE
}

aya_node_ebpf::object_support!();

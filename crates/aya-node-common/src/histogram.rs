/// Buckets of a power-of-two latency histogram: bucket `i` counts values in `[2^i, 2^(i+1))`
/// (bucket 0 also holds 0).
pub const HISTOGRAM_BUCKETS: usize = 64;

/// Index of the power-of-two bucket for `value`.
#[inline(always)]
pub fn log2_bucket(value: u64) -> u32 {
    // Branch-free floor(log2), bounded for the verifier.
    let mut v = value;
    let mut r = 0u32;
    let mut shift = 32u32;
    while shift > 0 {
        if v >= (1u64 << shift) {
            v >>= shift;
            r += shift;
        }
        shift >>= 1;
    }
    r
}

/// Per-syscall (or per-process) counters of the syscount tool.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct SyscallStat {
    pub count: u64,
    pub total_ns: u64,
}

/// Sample key of the profile tool: who was on the CPU and where.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ProfileKey {
    pub pid: u32,
    /// Stack ids in the `STACKS` map; negative when the stack could not be taken.
    pub user_stack_id: i32,
    pub kernel_stack_id: i32,
    pub _pad: u32,
    pub comm: [u8; 16],
}

/// Event of the stream test programs: which process and CPU produced it, and a sequence
/// number, padded to `N` bytes in total (16, 64 or 256).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SeqEvent<const PAD: usize> {
    pub seq: u64,
    pub pid: u32,
    pub cpu: u32,
    pub pad: [u8; PAD],
}

pub type SeqEvent16 = SeqEvent<0>;
pub type SeqEvent64 = SeqEvent<48>;
pub type SeqEvent256 = SeqEvent<240>;

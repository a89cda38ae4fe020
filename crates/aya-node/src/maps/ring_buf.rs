//! `BPF_MAP_TYPE_RINGBUF` consumer, plus the per-CPU drop counter that
//! `aya_node_ebpf::ring::output_or_count_drop` keeps beside a ring.

use std::os::fd::{AsRawFd, RawFd};

use aya::maps::{MapData, PerCpuArray, RingBuf};
use napi::bindgen_prelude::BigInt;
use napi_derive::napi;

use crate::{
    error::{AyaContext, Code, NodeError, Result},
    object::{lock, EbpfObject},
    stream::{reader_methods, Batch, Source, Stream},
};

pub struct RingSource(RingBuf<MapData>);

impl AsRawFd for RingSource {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

impl Source for RingSource {
    fn drain(&mut self, batch: &mut Batch, max: u32) -> Result<u32> {
        let mut moved = 0;
        while moved < max {
            let Some(item) = self.0.next() else { break };
            batch.push(0, &[&item]);
            moved += 1;
        }
        Ok(moved)
    }
}

#[napi]
pub struct RingBufReader {
    stream: Stream<RingSource>,
}

reader_methods!(RingBufReader);

#[napi]
impl EbpfObject {
    /// Takes the ring buffer map `name` out of the object into a reader.
    #[napi]
    pub fn take_ring_buf(&self, name: String) -> napi::Result<RingBufReader> {
        let map = lock(&self.state).take_map(&name)?;
        let ring = RingBuf::try_from(map).context(|| format!("opening `{name}` as a ring buffer"))?;
        Ok(RingBufReader { stream: Stream::new(RingSource(ring), "ring buffer") })
    }

    /// Sum over CPUs of entry 0 of the per-CPU `u64` array `name` (a drop counter).
    #[napi]
    pub fn per_cpu_counter_sum(&self, name: String) -> napi::Result<BigInt> {
        let mut state = lock(&self.state);
        let map = state
            .ebpf()?
            .map(&name)
            .ok_or_else(|| NodeError::new(Code::NotFound, format!("no map named `{name}` in the object")))?;
        let counters = PerCpuArray::<&MapData, u64>::try_from(map)
            .context(|| format!("opening `{name}` as a per-CPU u64 array (the drop counter)"))?;
        let values = counters.get(&0, 0).context(|| format!("reading `{name}`"))?;
        Ok(BigInt::from(values.iter().fold(0u64, |sum, v| sum.wrapping_add(*v))))
    }
}

//! The native halves of `bench/streams.bench.ts`:
//! - a consumer that drains a ring buffer with Aya alone, in a Rust loop with no JavaScript:
//!   the baseline the TypeScript consumers are compared against;
//! - a producer that runs a program with `BPF_PROG_TEST_RUN` in a loop on a thread of its own,
//!   so JavaScript can consume while the kernel produces at full rate.

use std::{
    os::fd::{AsFd, OwnedFd},
    time::Instant,
};

use napi::bindgen_prelude::Buffer;
use napi_derive::napi;

use crate::{
    error::{AyaContext, Code, NodeError},
    streams::ring_buf::RingBufReader,
    streams::{record_size, Batch, Overflow, Source},
    object::{lock, EbpfObject},
    programs::{
        load::ensure_loaded,
        test_run::{test_run_fd, TestRunInput},
    },
};

#[napi(object)]
pub struct DrainBench {
    pub events: u32,
    pub bytes: f64,
    pub elapsed_ns: f64,
    /// Events whose leading `u64` was not the previous one's plus one.
    pub out_of_order: u32,
}

/// Reads each record's leading `u64` (a sequence number), counting those out of order.
struct SeqCheck {
    expected: Option<u64>,
    out_of_order: u32,
}

impl SeqCheck {
    fn see(&mut self, record: &[u8]) {
        let seq = record.get(..8).and_then(|b| b.try_into().ok()).map(u64::from_le_bytes);
        if seq.is_none() || self.expected.is_some_and(|e| Some(e) != seq) {
            self.out_of_order += 1;
        }
        self.expected = seq.map(|s| s + 1);
    }
}

#[napi]
impl RingBufReader {
    /// Drains every waiting record as a read from JavaScript would (batches of up to
    /// `max_events` in one reused buffer of `buffer_bytes`), then walks each batch reading
    /// every record's sequence number, all in Rust.
    #[napi]
    pub fn bench_drain(&self, max_events: u32, buffer_bytes: u32) -> napi::Result<DrainBench> {
        let drained = self.stream.with_source(|source| -> crate::error::Result<DrainBench> {
            let mut out = vec![0u8; buffer_bytes as usize];
            let mut overflow = Overflow::default();
            let start = Instant::now();
            let (mut events, mut bytes) = (0u32, 0u64);
            let mut check = SeqCheck { expected: None, out_of_order: 0 };
            loop {
                let mut batch = Batch::new(&mut out, &mut overflow);
                source.drain(&mut batch, max_events.max(1))?;
                if batch.count() == 0 {
                    break;
                }
                let data = batch.data();
                let mut offset = 0;
                while offset + 8 <= data.len() {
                    let len = u32::from_le_bytes([data[offset], data[offset + 1], data[offset + 2], data[offset + 3]]) as usize;
                    check.see(&data[offset + 8..offset + 8 + len]);
                    bytes += len as u64;
                    offset += record_size(len);
                }
                events += batch.count();
            }
            Ok(DrainBench { events, bytes: bytes as f64, elapsed_ns: start.elapsed().as_nanos() as f64, out_of_order: check.out_of_order })
        })??;
        Ok(drained)
    }
}

#[napi]
impl EbpfObject {
    /// The same drain with Aya's own `RingBuf` iterator (one record at a time, no copy), for
    /// reference: takes the ring `ring`, then `rounds` times fills it with `fill` runs of
    /// program `producer` and drains it.
    #[napi]
    pub fn bench_aya_drain(&self, ring: String, producer: String, data: Buffer, fill: u32, rounds: u32) -> napi::Result<Vec<DrainBench>> {
        let mut state = lock(&self.state);
        let mut ring = aya::maps::RingBuf::try_from(state.take_map(&ring)?).context(|| format!("opening `{ring}` as a ring buffer"))?;
        let program = state.program(&producer)?;
        ensure_loaded(program, &producer)?;
        let fd = program.fd().map_err(|e| NodeError::from_aya(&format!("program `{producer}`"), &e))?;
        let mut results = Vec::new();
        for _ in 0..rounds {
            test_run_fd(fd.as_fd(), TestRunInput { data_in: &data, repeat: fill, ..Default::default() })?;
            let start = Instant::now();
            let (mut events, mut bytes) = (0u32, 0u64);
            let mut check = SeqCheck { expected: None, out_of_order: 0 };
            while let Some(item) = ring.next() {
                check.see(&item);
                events += 1;
                bytes += item.len() as u64;
            }
            results.push(DrainBench { events, bytes: bytes as f64, elapsed_ns: start.elapsed().as_nanos() as f64, out_of_order: check.out_of_order });
        }
        Ok(results)
    }
}

#[napi(object)]
pub struct ProduceBench {
    /// Program runs made (each may have emitted one event, or counted a drop).
    pub runs: f64,
    pub elapsed_ns: f64,
    /// CPU time of the producer thread, so a benchmark can leave it out of the process's.
    pub cpu_ns: f64,
}

fn thread_cpu_ns() -> f64 {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `now` is a valid timespec to write to; this clock exists on every Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    now.tv_sec as f64 * 1e9 + now.tv_nsec as f64
}

fn produce(fd: OwnedFd, data: Vec<u8>, runs: u32, repeat: u32) -> crate::error::Result<ProduceBench> {
    let (cpu_start, start) = (thread_cpu_ns(), Instant::now());
    let mut done = 0u32;
    while done < runs {
        let repeat = repeat.min(runs - done).max(1);
        test_run_fd(fd.as_fd(), TestRunInput { data_in: &data, repeat, ..Default::default() })?;
        done += repeat;
    }
    Ok(ProduceBench {
        runs: f64::from(done),
        elapsed_ns: start.elapsed().as_nanos() as f64,
        cpu_ns: thread_cpu_ns() - cpu_start,
    })
}

#[napi]
impl EbpfObject {
    /// Test-runs program `name` on `data` `runs` times, `repeat` runs per syscall, on a
    /// blocking thread; the JavaScript thread stays free to consume what it produces.
    #[napi]
    pub async fn bench_produce(&self, name: String, data: Buffer, runs: u32, repeat: u32) -> napi::Result<ProduceBench> {
        let fd = {
            let mut state = lock(&self.state);
            let program = state.program(&name)?;
            ensure_loaded(program, &name)?;
            let fd = program.fd().map_err(|e| NodeError::from_aya(&format!("program `{name}`"), &e))?;
            fd.as_fd().try_clone_to_owned().map_err(|e| NodeError::syscall("dup", e))?
        };
        let data = data.to_vec();
        let produced = tokio::task::spawn_blocking(move || produce(fd, data, runs, repeat))
            .await
            .map_err(|e| NodeError::new(Code::Kernel, format!("producer thread failed: {e}")))??;
        Ok(produced)
    }
}

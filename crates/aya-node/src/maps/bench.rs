//! The same map operations as the TypeScript benchmarks, in a Rust loop with no JavaScript, so
//! a benchmark can print how much of each operation's cost the JS layer adds.

use std::time::Instant;

use napi::bindgen_prelude::Buffer;
use napi_derive::napi;

use super::handle::{borrow, MapHandle};
use crate::sys::map as sys;
use crate::error::NodeError;

#[napi(object)]
pub struct IterateBench {
    pub elapsed_ns: f64,
    pub entries: u32,
}

#[napi]
impl MapHandle {
    /// Looks `key` up `iterations` times; returns the elapsed ns.
    #[napi]
    pub fn bench_lookup(&self, key: Buffer, iterations: u32) -> napi::Result<f64> {
        self.check_key(&key)?;
        let guard = self.fd()?;
        let fd = borrow(&guard)?;
        let mut value = vec![0u8; self.user_value_size];
        let start = Instant::now();
        for _ in 0..iterations {
            sys::lookup(fd, Some(&key), &mut value, 0).map_err(NodeError::from)?;
        }
        Ok(start.elapsed().as_nanos() as f64)
    }

    /// Writes `value` at `key` `iterations` times; returns the elapsed ns.
    #[napi]
    pub fn bench_update(&self, key: Buffer, value: Buffer, iterations: u32) -> napi::Result<f64> {
        self.check_key(&key)?;
        self.check_value(&value)?;
        let guard = self.fd()?;
        let fd = borrow(&guard)?;
        let start = Instant::now();
        for _ in 0..iterations {
            sys::update(fd, Some(&key), &value, 0).map_err(NodeError::from)?;
        }
        Ok(start.elapsed().as_nanos() as f64)
    }

    /// Reads the whole map in chunks of `batch_size` (as `entries()` does); elapsed ns and count.
    #[napi]
    pub fn bench_iterate(&self, batch_size: u32) -> napi::Result<IterateBench> {
        let start = Instant::now();
        let mut entries = 0;
        self.for_each_chunk(batch_size, false, |chunk| entries += chunk.count)?;
        Ok(IterateBench { elapsed_ns: start.elapsed().as_nanos() as f64, entries })
    }
}

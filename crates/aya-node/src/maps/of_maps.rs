//! Maps of maps (`array_of_maps`, `hash_of_maps`): a slot is set with an inner map's fd and
//! reads back as the inner map's kernel id.

use std::os::fd::AsRawFd;

use napi::bindgen_prelude::Buffer;
use napi_derive::napi;

use super::handle::{borrow, MapHandle};
use crate::sys::map as sys;
use crate::error::NodeError;

#[napi]
impl MapHandle {
    /// Stores `inner` at `key` (the kernel keeps a reference; closing `inner` later is fine).
    #[napi]
    pub fn set_inner_map(&self, key: Buffer, inner: &MapHandle, flags: u32) -> napi::Result<()> {
        self.check_key(&key)?;
        let inner_guard = inner.fd()?;
        let value = (borrow(&inner_guard)?.as_raw_fd() as u32).to_ne_bytes();
        let guard = self.fd()?;
        sys::update(borrow(&guard)?, Some(&key), &value, flags as u64).map_err(NodeError::from)?;
        Ok(())
    }
}

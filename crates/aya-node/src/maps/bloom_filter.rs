//! Bloom filters (`BPF_MAP_TYPE_BLOOM_FILTER`): no keys; `update` adds a value, and a lookup
//! whose *value* is the one to test answers "maybe present" (0) or "surely absent" (ENOENT).

use napi::bindgen_prelude::Buffer;
use napi_derive::napi;

use super::handle::{borrow, MapHandle};
use crate::sys::map as sys;
use crate::error::NodeError;

#[napi]
impl MapHandle {
    /// Whether `value` may be in the filter (false means it surely is not).
    #[napi]
    pub fn bloom_contains(&self, value: Buffer) -> napi::Result<bool> {
        self.check_value(&value)?;
        let mut probe = value.to_vec();
        let guard = self.fd()?;
        Ok(sys::lookup(borrow(&guard)?, None, &mut probe, 0).map_err(NodeError::from)?)
    }
}

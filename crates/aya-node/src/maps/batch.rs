//! Batch operations: BPF_MAP_LOOKUP_BATCH, LOOKUP_AND_DELETE_BATCH, UPDATE_BATCH, DELETE_BATCH.
//!
//! One syscall moves many elements. Map types without them (LPM trie, older kernels) fall back
//! to one call per element, transparently. Iteration with the fallback first collects the keys
//! (dropping duplicates: a hash map restarts `get_next_key` from its start when the current key
//! was deleted meanwhile), then reads each, skipping keys deleted in between.

use std::{
    collections::HashSet,
    os::fd::BorrowedFd,
    sync::atomic::{AtomicBool, Ordering},
};

use napi::bindgen_prelude::Buffer;
use napi_derive::napi;

use super::handle::{borrow, MapHandle};
use crate::{
    error::{Code, NodeError, Result},
    sys::map as sys,
};

#[napi(object)]
pub struct BatchChunk {
    /// `count` keys, back to back.
    pub keys: Buffer,
    /// `count` values (user-space size each), back to back.
    pub values: Buffer,
    pub count: u32,
    /// Pass to the next call to continue; null when the map has been read to its end.
    pub next: Option<Buffer>,
    /// Whether the kernel's batch command served this chunk (false: per-element fallback).
    pub batched: bool,
}

/// Map types whose batch commands the kernel lacks are remembered per process, by type.
static NO_BATCH: [AtomicBool; 64] = [const { AtomicBool::new(false) }; 64];

fn batch_known_unsupported(map_type: u32) -> bool {
    NO_BATCH.get(map_type as usize).is_some_and(|b| b.load(Ordering::Relaxed))
}

fn mark_batch_unsupported(map_type: u32) {
    if let Some(b) = NO_BATCH.get(map_type as usize) {
        b.store(true, Ordering::Relaxed);
    }
}

/// Errors meaning "no such command for this map" rather than "bad arguments".
fn is_unsupported(e: &sys::BpfError) -> bool {
    matches!(e.errno(), sys::ENOTSUPP | libc::EOPNOTSUPP | libc::ENOSYS)
}

impl MapHandle {
    fn token_size(&self) -> usize {
        // Hash maps use a u32 bucket index as the token, other maps a key.
        self.key_size().max(8)
    }

    /// One batch call; `Ok(None)` when the kernel lacks batch commands for this map.
    fn batch_chunk(
        &self,
        fd: BorrowedFd<'_>,
        token: Option<&[u8]>,
        count: u32,
        and_delete: bool,
    ) -> Result<Option<BatchChunk>> {
        let cmd = if and_delete { sys::BPF_MAP_LOOKUP_AND_DELETE_BATCH } else { sys::BPF_MAP_LOOKUP_BATCH };
        let mut count = count.max(1);
        loop {
            let mut out_token = vec![0u8; self.token_size()];
            let mut in_token = vec![0u8; self.token_size()];
            if let Some(t) = token {
                let n = t.len().min(in_token.len());
                in_token[..n].copy_from_slice(&t[..n]);
            }
            let mut keys = vec![0u8; count as usize * self.key_size()];
            let mut values = vec![0u8; count as usize * self.user_value_size];
            let mut attr = sys::BatchAttr {
                in_batch: if token.is_some() { in_token.as_ptr() as u64 } else { 0 },
                out_batch: out_token.as_mut_ptr() as u64,
                keys: keys.as_mut_ptr() as u64,
                values: values.as_mut_ptr() as u64,
                count,
                map_fd: std::os::fd::AsRawFd::as_raw_fd(&fd) as u32,
                ..Default::default()
            };
            match sys::batch(cmd, &mut attr) {
                Ok((n, done)) => {
                    keys.truncate(n as usize * self.key_size());
                    values.truncate(n as usize * self.user_value_size);
                    return Ok(Some(BatchChunk {
                        keys: keys.into(),
                        values: values.into(),
                        count: n,
                        next: (!done).then(|| out_token.into()),
                        batched: true,
                    }));
                }
                // A hash bucket holds more elements than fit: retry with room for more.
                Err(e) if e.errno() == libc::ENOSPC && count < u32::MAX / 2 => count *= 2,
                Err(e) if token.is_none() && (is_unsupported(&e) || e.errno() == libc::EINVAL) => {
                    mark_batch_unsupported(self.info.map_type);
                    return Ok(None);
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// All keys by `get_next_key`, each once.
    fn all_keys(&self, fd: BorrowedFd<'_>) -> Result<Vec<Vec<u8>>> {
        let mut seen = HashSet::new();
        let mut keys = Vec::new();
        let mut cur: Option<Vec<u8>> = None;
        loop {
            let mut next = vec![0u8; self.key_size()];
            if !sys::next_key(fd, cur.as_deref(), &mut next)? {
                return Ok(keys);
            }
            if seen.insert(next.clone()) {
                keys.push(next.clone());
            } else if keys.len() as u64 > self.info.max_entries as u64 * 4 {
                // Deletes keep sending the walk back to the start; what we have is all we get.
                return Ok(keys);
            }
            cur = Some(next);
        }
    }

    fn fallback_chunk(&self, fd: BorrowedFd<'_>, and_delete: bool) -> Result<BatchChunk> {
        let mut keys = Vec::new();
        let mut values = Vec::new();
        let mut value = vec![0u8; self.user_value_size];
        let mut count = 0;
        for key in self.all_keys(fd)? {
            // Lookup then delete: LOOKUP_AND_DELETE_ELEM exists only for hash maps.
            let found = sys::lookup(fd, Some(&key), &mut value, 0)? && (!and_delete || sys::delete(fd, &key)?);
            if found {
                keys.extend_from_slice(&key);
                values.extend_from_slice(&value);
                count += 1;
            }
        }
        Ok(BatchChunk { keys: keys.into(), values: values.into(), count, next: None, batched: false })
    }

    pub(crate) fn read_chunk(&self, token: Option<&[u8]>, count: u32, and_delete: bool) -> Result<BatchChunk> {
        if self.keyless() {
            return Err(NodeError::new(Code::InvalidArgument, "this map has no keys to iterate"));
        }
        let guard = self.fd()?;
        let fd = borrow(&guard)?;
        if token.is_none() && batch_known_unsupported(self.info.map_type) {
            return self.fallback_chunk(fd, and_delete);
        }
        match self.batch_chunk(fd, token, count, and_delete)? {
            Some(chunk) => Ok(chunk),
            None => self.fallback_chunk(fd, and_delete),
        }
    }

    fn split<'a>(&self, keys: &'a [u8], values: Option<&'a [u8]>) -> Result<u32> {
        if self.key_size() == 0 || !keys.len().is_multiple_of(self.key_size()) {
            return Err(NodeError::new(
                Code::InvalidArgument,
                format!("keys are {} bytes, not a multiple of the key size {}", keys.len(), self.key_size()),
            ));
        }
        let n = keys.len() / self.key_size();
        if let Some(values) = values {
            if values.len() != n * self.user_value_size {
                return Err(NodeError::new(
                    Code::InvalidArgument,
                    format!("{n} keys need {} bytes of values, got {}", n * self.user_value_size, values.len()),
                ));
            }
        }
        Ok(n as u32)
    }
}

#[napi]
impl MapHandle {
    /// Reads up to `count` entries after `token` (null: from the start) in one syscall where
    /// the kernel can; with `andDelete` they are removed as they are read.
    #[napi]
    pub fn lookup_batch(&self, token: Option<Buffer>, count: u32, and_delete: Option<bool>) -> napi::Result<BatchChunk> {
        Ok(self.read_chunk(token.as_deref(), count, and_delete.unwrap_or(false))?)
    }

    /// Writes `keys[i] -> values[i]` for all i; returns how many were written.
    #[napi]
    pub fn update_batch(&self, keys: Buffer, values: Buffer, flags: u32) -> napi::Result<u32> {
        let n = self.split(&keys, Some(&values))?;
        let guard = self.fd()?;
        let fd = borrow(&guard)?;
        if n == 0 {
            return Ok(0);
        }
        if !batch_known_unsupported(self.info.map_type) {
            let mut attr = sys::BatchAttr {
                keys: keys.as_ptr() as u64,
                values: values.as_ptr() as u64,
                count: n,
                map_fd: std::os::fd::AsRawFd::as_raw_fd(&fd) as u32,
                elem_flags: flags as u64,
                ..Default::default()
            };
            match sys::batch(sys::BPF_MAP_UPDATE_BATCH, &mut attr) {
                Ok((done, _)) => return Ok(done),
                Err(e) if is_unsupported(&e) => mark_batch_unsupported(self.info.map_type),
                Err(e) => {
                    let mut err = NodeError::from(e);
                    err.message = format!("{} (after {} of {n} elements were written)", err.message, attr.count);
                    return Err(err.into());
                }
            }
        }
        let (ks, vs) = (self.key_size(), self.user_value_size);
        for i in 0..n as usize {
            sys::update(fd, Some(&keys[i * ks..(i + 1) * ks]), &values[i * vs..(i + 1) * vs], flags as u64)?;
        }
        Ok(n)
    }

    /// Deletes every key in `keys` (back to back); returns how many existed and were deleted.
    #[napi]
    pub fn delete_batch(&self, keys: Buffer) -> napi::Result<u32> {
        let n = self.split(&keys, None)? as usize;
        let guard = self.fd()?;
        let fd = borrow(&guard)?;
        let ks = self.key_size();
        let mut deleted = 0u32;
        let mut start = 0usize;
        while start < n && !batch_known_unsupported(self.info.map_type) {
            let mut attr = sys::BatchAttr {
                keys: keys[start * ks..].as_ptr() as u64,
                count: (n - start) as u32,
                map_fd: std::os::fd::AsRawFd::as_raw_fd(&fd) as u32,
                ..Default::default()
            };
            // SAFETY: `keys` holds `count` keys from `start` on.
            match unsafe { sys::bpf(sys::BPF_MAP_DELETE_BATCH, &mut attr) } {
                Ok(_) => return Ok(deleted + attr.count),
                // The kernel stops at a missing key: count what went, skip it, go on.
                Err(e) if e.errno() == libc::ENOENT => {
                    deleted += attr.count;
                    start += attr.count as usize + 1;
                }
                Err(e) if is_unsupported(&e) || e.errno() == libc::EINVAL => {
                    deleted += attr.count;
                    start += attr.count as usize;
                    mark_batch_unsupported(self.info.map_type);
                }
                Err(e) => return Err(NodeError::from(e).into()),
            }
        }
        for i in start..n {
            if sys::delete(fd, &keys[i * ks..(i + 1) * ks])? {
                deleted += 1;
            }
        }
        Ok(deleted)
    }

    /// Deletes every element (hash-like maps); returns how many there were.
    #[napi]
    pub fn clear(&self) -> napi::Result<u32> {
        let mut total = 0u32;
        let mut token: Option<Buffer> = None;
        loop {
            let chunk = self.read_chunk(token.as_deref(), 4096, true)?;
            total += chunk.count;
            match chunk.next {
                Some(next) if chunk.batched => token = Some(next),
                _ => break,
            }
        }
        Ok(total)
    }

    /// Counts the elements (one pass over the map, in batches where possible).
    #[napi]
    pub fn count(&self) -> napi::Result<u32> {
        let mut total = 0u32;
        let mut token: Option<Buffer> = None;
        loop {
            let chunk = self.read_chunk(token.as_deref(), 4096, false)?;
            total += chunk.count;
            match chunk.next {
                Some(next) if chunk.batched => token = Some(next),
                _ => break,
            }
        }
        Ok(total)
    }
}

impl From<sys::BpfError> for napi::Error {
    fn from(e: sys::BpfError) -> Self {
        NodeError::from(e).into()
    }
}

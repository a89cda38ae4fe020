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
    sys::{bpf_cmd, map as sys},
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
fn is_unsupported(e: &crate::sys::BpfError) -> bool {
    matches!(e.errno(), crate::sys::ENOTSUPP | libc::EOPNOTSUPP | libc::ENOSYS)
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
        let cmd = if and_delete { bpf_cmd::BPF_MAP_LOOKUP_AND_DELETE_BATCH } else { bpf_cmd::BPF_MAP_LOOKUP_BATCH };
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
            let mut attr = sys::batch_attr(fd);
            attr.in_batch = if token.is_some() { in_token.as_ptr() as u64 } else { 0 };
            attr.out_batch = out_token.as_mut_ptr() as u64;
            attr.keys = keys.as_mut_ptr() as u64;
            attr.values = values.as_mut_ptr() as u64;
            attr.count = count;
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
                    mark_batch_unsupported(self.info.type_);
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
        if token.is_none() && batch_known_unsupported(self.info.type_) {
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
        if !batch_known_unsupported(self.info.type_) {
            let mut attr = sys::batch_attr(fd);
            attr.keys = keys.as_ptr() as u64;
            attr.values = values.as_ptr() as u64;
            attr.count = n;
            attr.elem_flags = flags as u64;
            match sys::batch(bpf_cmd::BPF_MAP_UPDATE_BATCH, &mut attr) {
                Ok((done, _)) => return Ok(done),
                Err(e) if is_unsupported(&e) => mark_batch_unsupported(self.info.type_),
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
        while start < n && !batch_known_unsupported(self.info.type_) {
            let mut attr = sys::batch_attr(fd);
            attr.keys = keys[start * ks..].as_ptr() as u64;
            attr.count = (n - start) as u32;
            match sys::batch(bpf_cmd::BPF_MAP_DELETE_BATCH, &mut attr) {
                Ok((done, false)) => return Ok(deleted + done),
                // The kernel stops at a missing key: count what went, skip it, go on.
                Ok((done, true)) => {
                    deleted += done;
                    start += done as usize + 1;
                }
                Err(e) if is_unsupported(&e) || e.errno() == libc::EINVAL => {
                    deleted += attr.count;
                    start += attr.count as usize;
                    mark_batch_unsupported(self.info.type_);
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
        self.for_each_chunk(4096, true, |chunk| total += chunk.count)?;
        Ok(total)
    }

    /// Counts the elements (one pass over the map, in batches where possible).
    #[napi]
    pub fn count(&self) -> napi::Result<u32> {
        let mut total = 0u32;
        self.for_each_chunk(4096, false, |chunk| total += chunk.count)?;
        Ok(total)
    }
}

impl MapHandle {
    /// The map iteration loop: reads the whole map in chunks of up to `batch_size` (batches
    /// where the kernel has them, else one key-by-key walk), handing each chunk to `f`.
    pub(crate) fn for_each_chunk(&self, batch_size: u32, and_delete: bool, mut f: impl FnMut(&BatchChunk)) -> Result<()> {
        let mut token: Option<Buffer> = None;
        loop {
            let chunk = self.read_chunk(token.as_deref(), batch_size, and_delete)?;
            f(&chunk);
            match chunk.next {
                Some(next) if chunk.batched => token = Some(next),
                _ => return Ok(()),
            }
        }
    }
}

impl From<crate::sys::BpfError> for napi::Error {
    fn from(e: crate::sys::BpfError) -> Self {
        NodeError::from(e).into()
    }
}

#[cfg(test)]
mod tests {
    use std::{cell::RefCell, rc::Rc};

    use super::*;
    use crate::sys::{
        bpf_attr, bpf_map_info,
        fake::{errno, with_kernel},
    };

    /// A handle whose map info comes from the fake kernel (the fd is a dup of stdin).
    fn handle(map_type: u32, key_size: u32, value_size: u32) -> MapHandle {
        // SAFETY: dup has no preconditions; the new fd is owned by the handle.
        let fd = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(libc::dup(0)) };
        with_kernel(
            move |cmd, attr| {
                assert_eq!(cmd, bpf_cmd::BPF_OBJ_GET_INFO_BY_FD);
                // SAFETY: the member info commands use; the pointer is the caller's bpf_map_info.
                let info = unsafe { &mut *(attr.info.info as *mut bpf_map_info) };
                info.type_ = map_type;
                info.key_size = key_size;
                info.value_size = value_size;
                info.max_entries = 1000;
                Ok(0)
            },
            || MapHandle::from_fd(fd),
        )
        .unwrap()
    }

    fn u32s(bytes: &[u8]) -> Vec<u32> {
        bytes.chunks(4).map(|c| u32::from_le_bytes(c.try_into().unwrap())).collect()
    }

    fn batch_of(attr: &mut bpf_attr) -> &mut crate::sys::map::BatchAttr {
        // SAFETY: the member batch commands use.
        unsafe { &mut attr.batch }
    }

    #[test]
    fn a_bucket_larger_than_the_batch_makes_the_read_retry_with_twice_the_room() {
        let map = handle(1, 4, 4);
        let counts = Rc::new(RefCell::new(Vec::new()));
        let seen = counts.clone();
        let chunk = with_kernel(
            move |cmd, attr| {
                assert_eq!(cmd, bpf_cmd::BPF_MAP_LOOKUP_BATCH);
                let batch = batch_of(attr);
                seen.borrow_mut().push(batch.count);
                if batch.count < 8 {
                    batch.count = 0;
                    return errno(libc::ENOSPC);
                }
                for i in 0..3u32 {
                    // SAFETY: the caller sized keys and values for `count` elements.
                    unsafe {
                        *(batch.keys as *mut u32).add(i as usize) = i + 1;
                        *(batch.values as *mut u32).add(i as usize) = (i + 1) * 10;
                    }
                }
                batch.count = 3;
                errno(libc::ENOENT)
            },
            || map.read_chunk(None, 2, false),
        )
        .unwrap();
        assert_eq!(counts.borrow().as_slice(), &[2, 4, 8]);
        assert!(chunk.batched);
        assert_eq!(chunk.count, 3);
        assert!(chunk.next.is_none(), "ENOENT: the map was read to its end");
        assert_eq!(u32s(&chunk.keys), vec![1, 2, 3]);
        assert_eq!(u32s(&chunk.values), vec![10, 20, 30]);
    }

    #[test]
    fn a_map_type_without_batch_commands_is_walked_key_by_key_and_remembered() {
        const TYPE: u32 = 2;
        let map = handle(TYPE, 4, 4);
        let read = || {
            with_kernel(
                |cmd, attr| match cmd {
                    bpf_cmd::BPF_MAP_LOOKUP_BATCH => errno(libc::EINVAL),
                    bpf_cmd::BPF_MAP_GET_NEXT_KEY => {
                        // SAFETY: the member element commands use, with 4-byte keys.
                        let elem = unsafe { attr.__bindgen_anon_2 };
                        let current = if elem.key == 0 { 0 } else { unsafe { *(elem.key as *const u32) } };
                        if current == 2 {
                            return errno(libc::ENOENT);
                        }
                        unsafe { *(elem.__bindgen_anon_1.next_key as *mut u32) = current + 1 };
                        Ok(0)
                    }
                    bpf_cmd::BPF_MAP_LOOKUP_ELEM => {
                        let elem = unsafe { attr.__bindgen_anon_2 };
                        unsafe { *(elem.__bindgen_anon_1.value as *mut u32) = *(elem.key as *const u32) * 100 };
                        Ok(0)
                    }
                    other => panic!("unexpected {other:?}"),
                },
                || map.read_chunk(None, 16, false),
            )
            .unwrap()
        };
        let chunk = read();
        assert!(!chunk.batched);
        assert_eq!(u32s(&chunk.keys), vec![1, 2]);
        assert_eq!(u32s(&chunk.values), vec![100, 200]);
        assert!(batch_known_unsupported(TYPE));
        // The second read goes straight to the walk: the handler would still answer a batch
        // command, but none is made (the walk gives the same answer).
        assert_eq!(u32s(&read().keys), vec![1, 2]);
    }

    #[test]
    fn delete_batch_skips_a_missing_key_and_goes_on() {
        let map = handle(1, 4, 4);
        let keys: Vec<u8> = [1u32, 2, 3, 4].iter().flat_map(|k| k.to_le_bytes()).collect();
        let calls = Rc::new(RefCell::new(Vec::new()));
        let seen = calls.clone();
        let deleted = with_kernel(
            move |cmd, attr| {
                assert_eq!(cmd, bpf_cmd::BPF_MAP_DELETE_BATCH);
                let batch = batch_of(attr);
                // SAFETY: `keys` points at `count` 4-byte keys.
                let first = unsafe { *(batch.keys as *const u32) };
                seen.borrow_mut().push((first, batch.count));
                if first == 1 {
                    batch.count = 1; // key 1 went, key 2 is missing
                    return errno(libc::ENOENT);
                }
                Ok(0)
            },
            || map.delete_batch(keys.into()),
        )
        .unwrap();
        assert_eq!(calls.borrow().as_slice(), &[(1, 4), (3, 2)]);
        assert_eq!(deleted, 3);
    }
}

//! `MapHandle`: an owned fd of any kernel map, with element operations on raw bytes.
//!
//! Opened from a loaded object (a dup of the object's fd: the object keeps its own, which its
//! programs were relocated against), from a pin path, by kernel id, or created here. Every
//! buffer is checked against the map's key and value sizes before a syscall sees it.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use napi::bindgen_prelude::{BigInt, Buffer, BufferSlice};
use napi_derive::napi;

use super::per_cpu;
use crate::sys::map as sys;
pub use crate::fd::FdGuard;
use crate::{
    error::{Code, NodeError, Result},
    fd::ClosableFd,
    object::{lock, EbpfObject},
};

#[napi]
pub struct MapHandle {
    fd: ClosableFd,
    pub(crate) info: crate::sys::bpf_map_info,
    /// Bytes of a value as user space exchanges it (per-CPU: all CPUs' slots).
    pub(crate) user_value_size: usize,
}

#[napi(object)]
pub struct CreateMapOptions {
    /// Kernel map type number (`BPF_MAP_TYPE_*`).
    pub map_type: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub flags: Option<u32>,
    pub name: Option<String>,
    /// Bloom filter: number of hash functions (`map_extra`).
    pub map_extra: Option<BigInt>,
}


impl MapHandle {
    pub fn from_fd(fd: OwnedFd) -> Result<Self> {
        let info = sys::map_info(fd.as_fd())?;
        let user_value_size = per_cpu::user_value_size(info.type_, info.value_size)?;
        Ok(Self { fd: ClosableFd::new(fd), info, user_value_size })
    }

    pub fn fd(&self) -> Result<FdGuard<'_>> {
        let guard = self.fd.lock();
        if guard.is_none() {
            return Err(NodeError::closed("the map"));
        }
        Ok(guard)
    }

    pub fn key_size(&self) -> usize {
        self.info.key_size as usize
    }

    pub fn check_key(&self, key: &[u8]) -> Result<()> {
        if key.len() != self.key_size() {
            return Err(NodeError::new(
                Code::InvalidArgument,
                format!("key is {} bytes, the map's keys are {} bytes", key.len(), self.key_size()),
            ));
        }
        Ok(())
    }

    pub fn check_value(&self, value: &[u8]) -> Result<()> {
        if value.len() != self.user_value_size {
            return Err(NodeError::new(
                Code::InvalidArgument,
                format!("value is {} bytes, the map's values are {} bytes", value.len(), self.user_value_size),
            ));
        }
        Ok(())
    }

    /// Maps whose element operations take no key (queue, stack, bloom filter).
    pub fn keyless(&self) -> bool {
        self.info.key_size == 0
    }

    fn opt_key<'a>(&self, key: &'a Option<Buffer>) -> Result<Option<&'a [u8]>> {
        match key {
            Some(k) => {
                self.check_key(k)?;
                Ok(Some(k.as_ref()))
            }
            None if self.keyless() => Ok(None),
            None => Err(NodeError::new(Code::InvalidArgument, "this map needs a key")),
        }
    }
}

/// Borrows the fd out of a guard that [`MapHandle::fd`] returned (never empty).
pub fn borrow<'a>(guard: &'a FdGuard<'_>) -> Result<BorrowedFd<'a>> {
    guard.as_ref().map(|fd| fd.as_fd()).ok_or_else(|| NodeError::closed("the map"))
}

#[napi]
impl EbpfObject {
    /// A new handle on the object's map `name` (a duplicate fd: the object keeps its own).
    #[napi]
    pub fn open_map(&self, name: String) -> napi::Result<MapHandle> {
        let mut state = lock(&self.state);
        let map = state
            .ebpf()?
            .map(&name)
            .ok_or_else(|| NodeError::new(Code::NotFound, format!("no map named `{name}` in the object")))?;
        let fd = crate::kinds::map_data(map)
            .fd()
            .as_fd()
            .try_clone_to_owned()
            .map_err(|e| NodeError::syscall("fcntl(F_DUPFD_CLOEXEC)", e))?;
        Ok(MapHandle::from_fd(fd)?)
    }
}

#[napi]
impl MapHandle {
    /// Opens a map pinned in bpffs.
    #[napi(factory)]
    pub fn open_pinned(path: String) -> napi::Result<MapHandle> {
        let fd = crate::sys::get_pinned(&path).map_err(|mut err| {
            err.message = format!("opening pinned map {path}: {}", err.message);
            err
        })?;
        Ok(MapHandle::from_fd(fd)?)
    }

    /// Opens a map by its kernel id.
    #[napi(factory)]
    pub fn open_by_id(id: u32) -> napi::Result<MapHandle> {
        let fd = sys::map_fd_by_id(id).map_err(|e| {
            let mut err = NodeError::from(e);
            if err.errno == Some(libc::ENOENT) {
                err.code = Code::NotFound;
            }
            err.message = format!("opening map id {id}: {}", err.message);
            err
        })?;
        Ok(MapHandle::from_fd(fd)?)
    }

    /// Creates a new map (freed when its last fd closes and no program uses it).
    #[napi(factory)]
    pub fn create(options: CreateMapOptions) -> napi::Result<MapHandle> {
        Ok(create_map(options, None)?)
    }

    /// Creates an array or hash of maps whose inner maps look like `inner` (type and sizes).
    #[napi(factory)]
    pub fn create_map_of_maps(options: CreateMapOptions, inner: &MapHandle) -> napi::Result<MapHandle> {
        Ok(create_map(options, Some(inner))?)
    }

    #[napi(getter)]
    pub fn map_type(&self) -> u32 {
        self.info.type_
    }
    #[napi(getter)]
    pub fn id(&self) -> u32 {
        self.info.id
    }
    #[napi(getter)]
    pub fn key_size_bytes(&self) -> u32 {
        self.info.key_size
    }
    /// The value size the map was created with (one CPU's value for per-CPU maps).
    #[napi(getter)]
    pub fn value_size(&self) -> u32 {
        self.info.value_size
    }
    /// The value size user space exchanges (all CPUs' 8-aligned slots for per-CPU maps).
    #[napi(getter)]
    pub fn user_value_size(&self) -> u32 {
        self.user_value_size as u32
    }
    #[napi(getter)]
    pub fn max_entries(&self) -> u32 {
        self.info.max_entries
    }
    #[napi(getter)]
    pub fn flags(&self) -> u32 {
        self.info.map_flags
    }
    #[napi(getter)]
    pub fn name(&self) -> String {
        let end = self.info.name.iter().position(|&b| b == 0).unwrap_or(self.info.name.len());
        let name: Vec<u8> = self.info.name[..end].iter().map(|&c| c as u8).collect();
        String::from_utf8_lossy(&name).into_owned()
    }
    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.fd.closed()
    }

    /// The value at `key` (no key for queue/stack peek), or null when absent.
    #[napi]
    pub fn lookup(&self, key: Option<Buffer>, flags: Option<u32>) -> napi::Result<Option<Buffer>> {
        let key = self.opt_key(&key)?;
        let guard = self.fd()?;
        let mut value = vec![0u8; self.user_value_size];
        let found = sys::lookup(borrow(&guard)?, key, &mut value, flags.unwrap_or(0) as u64).map_err(NodeError::from)?;
        Ok(found.then(|| value.into()))
    }

    /// Writes `value` at `key` (no key for queue/stack push, bloom filter add).
    #[napi]
    pub fn update(&self, key: Option<Buffer>, value: Buffer, flags: u32) -> napi::Result<()> {
        let key = self.opt_key(&key)?;
        self.check_value(&value)?;
        let guard = self.fd()?;
        sys::update(borrow(&guard)?, key, &value, flags as u64).map_err(NodeError::from)?;
        Ok(())
    }

    /// The hot path of `get`: looks `key` up into the caller's `out` buffer (no allocation, no
    /// reference kept); false when absent.
    #[napi]
    pub fn lookup_into(&self, key: BufferSlice, mut out: BufferSlice) -> napi::Result<bool> {
        self.check_key(&key)?;
        self.check_value(&out)?;
        let guard = self.fd()?;
        Ok(sys::lookup(borrow(&guard)?, Some(&key), &mut out, 0).map_err(NodeError::from)?)
    }

    /// The hot path of `set`: like `update` with borrowed bytes.
    #[napi]
    pub fn update_from(&self, key: BufferSlice, value: BufferSlice, flags: u32) -> napi::Result<()> {
        self.check_key(&key)?;
        self.check_value(&value)?;
        let guard = self.fd()?;
        sys::update(borrow(&guard)?, Some(&key), &value, flags as u64).map_err(NodeError::from)?;
        Ok(())
    }

    /// Deletes `key`; false when it was not there.
    #[napi]
    pub fn delete(&self, key: Buffer) -> napi::Result<bool> {
        self.check_key(&key)?;
        let guard = self.fd()?;
        Ok(sys::delete(borrow(&guard)?, &key).map_err(NodeError::from)?)
    }

    /// Removes and returns the value at `key` (no key: queue/stack pop), or null.
    #[napi]
    pub fn lookup_and_delete(&self, key: Option<Buffer>) -> napi::Result<Option<Buffer>> {
        let key = self.opt_key(&key)?;
        let guard = self.fd()?;
        let mut value = vec![0u8; self.user_value_size];
        let found = sys::lookup_and_delete(borrow(&guard)?, key, &mut value).map_err(NodeError::from)?;
        Ok(found.then(|| value.into()))
    }

    /// The key after `key` (the first with none), or null at the end.
    #[napi]
    pub fn next_key(&self, key: Option<Buffer>) -> napi::Result<Option<Buffer>> {
        if let Some(k) = &key {
            self.check_key(k)?;
        }
        let guard = self.fd()?;
        let mut next = vec![0u8; self.key_size()];
        let found = sys::next_key(borrow(&guard)?, key.as_deref(), &mut next).map_err(NodeError::from)?;
        Ok(found.then(|| next.into()))
    }

    /// Pins the map at `path` in bpffs.
    #[napi]
    pub fn pin(&self, path: String) -> napi::Result<()> {
        let guard = self.fd()?;
        crate::sys::pin_fd(borrow(&guard)?, &path).map_err(|mut err| {
            err.message = format!("pinning the map at {path}: {}", err.message);
            err
        })?;
        Ok(())
    }

    /// Closes this handle's fd (the map lives on while others use it).
    #[napi]
    pub fn close(&self) {
        self.fd.close();
    }
}


fn create_map(options: CreateMapOptions, inner: Option<&MapHandle>) -> Result<MapHandle> {
    let mut attr = sys::create_attr();
    attr.map_type = options.map_type;
    attr.key_size = options.key_size;
    attr.value_size = options.value_size;
    attr.max_entries = options.max_entries;
    attr.map_flags = options.flags.unwrap_or(0);
    if let Some(name) = &options.name {
        // The kernel accepts [A-Za-z0-9_.] and 15 bytes plus NUL.
        for (slot, byte) in attr.map_name.iter_mut().zip(name.bytes().take(15)) {
            *slot = byte as std::ffi::c_char;
        }
    }
    if let Some(bits) = &options.map_extra {
        attr.map_extra = bits.get_u64().1;
    }
    let _inner_guard;
    if let Some(inner) = inner {
        _inner_guard = inner.fd()?;
        attr.inner_map_fd = std::os::fd::AsRawFd::as_raw_fd(&borrow(&_inner_guard)?) as u32;
    }
    let fd = sys::create(&attr).map_err(|e| {
        let mut err = NodeError::from(e);
        err.message = format!("creating a map of type {}: {}", options.map_type, err.message);
        err
    })?;
    MapHandle::from_fd(fd)
}

/// bpf() syscalls the map layer has made in this process (to see batching at work).
#[napi]
pub fn bpf_syscall_count() -> BigInt {
    BigInt::from(sys::syscall_count())
}

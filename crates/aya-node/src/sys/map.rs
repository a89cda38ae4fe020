//! The bpf() syscall for map operations on raw bytes, with our own `bpf_attr` layouts.
//!
//! Aya covers single-element operations but not the batch commands, and its typed maps want
//! Rust types; the map handles here work on byte buffers whose sizes the caller has checked.
//! Every call is counted ([`syscall_count`]) so tests and benchmarks can see how many crossings
//! into the kernel an operation took.

use std::{
    io,
    os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd},
    sync::atomic::{AtomicU64, Ordering},
};

pub const BPF_MAP_CREATE: u32 = 0;
pub const BPF_MAP_LOOKUP_ELEM: u32 = 1;
pub const BPF_MAP_UPDATE_ELEM: u32 = 2;
pub const BPF_MAP_DELETE_ELEM: u32 = 3;
pub const BPF_MAP_GET_NEXT_KEY: u32 = 4;
pub const BPF_MAP_GET_FD_BY_ID: u32 = 14;
pub const BPF_MAP_LOOKUP_AND_DELETE_ELEM: u32 = 21;
pub const BPF_MAP_LOOKUP_BATCH: u32 = 24;
pub const BPF_MAP_LOOKUP_AND_DELETE_BATCH: u32 = 25;
pub const BPF_MAP_UPDATE_BATCH: u32 = 26;
pub const BPF_MAP_DELETE_BATCH: u32 = 27;

/// The kernel's internal "operation not supported" (not in libc): a map type without a command.
pub const ENOTSUPP: i32 = 524;

static SYSCALLS: AtomicU64 = AtomicU64::new(0);

/// How many bpf() syscalls the map layer has made since the process started.
pub fn syscall_count() -> u64 {
    SYSCALLS.load(Ordering::Relaxed)
}

/// Name of a bpf command, for error messages and `EbpfError.syscall`.
pub fn command_name(cmd: u32) -> &'static str {
    match cmd {
        BPF_MAP_CREATE => "BPF_MAP_CREATE",
        BPF_MAP_LOOKUP_ELEM => "BPF_MAP_LOOKUP_ELEM",
        BPF_MAP_UPDATE_ELEM => "BPF_MAP_UPDATE_ELEM",
        BPF_MAP_DELETE_ELEM => "BPF_MAP_DELETE_ELEM",
        BPF_MAP_GET_NEXT_KEY => "BPF_MAP_GET_NEXT_KEY",
        BPF_MAP_GET_FD_BY_ID => "BPF_MAP_GET_FD_BY_ID",
        super::BPF_OBJ_GET_INFO_BY_FD => "BPF_OBJ_GET_INFO_BY_FD",
        BPF_MAP_LOOKUP_AND_DELETE_ELEM => "BPF_MAP_LOOKUP_AND_DELETE_ELEM",
        BPF_MAP_LOOKUP_BATCH => "BPF_MAP_LOOKUP_BATCH",
        BPF_MAP_LOOKUP_AND_DELETE_BATCH => "BPF_MAP_LOOKUP_AND_DELETE_BATCH",
        BPF_MAP_UPDATE_BATCH => "BPF_MAP_UPDATE_BATCH",
        BPF_MAP_DELETE_BATCH => "BPF_MAP_DELETE_BATCH",
        _ => "bpf",
    }
}

/// A failed bpf() call: the command and the kernel's errno.
#[derive(Debug)]
pub struct BpfError {
    pub cmd: u32,
    pub io: io::Error,
}

impl BpfError {
    pub fn errno(&self) -> i32 {
        self.io.raw_os_error().unwrap_or(0)
    }
}

impl From<BpfError> for crate::error::NodeError {
    fn from(e: BpfError) -> Self {
        let errno = e.errno();
        let mut err = crate::error::NodeError::syscall(command_name(e.cmd), e.io);
        if errno == ENOTSUPP {
            err.message = format!("{}: this map type does not support the operation (ENOTSUPP)", command_name(e.cmd));
        }
        err
    }
}

pub type SysResult<T> = std::result::Result<T, BpfError>;

/// Calls bpf(cmd, attr, size_of::<A>()).
///
/// # Safety
/// `attr` must be a valid `bpf_attr` prefix for `cmd`, and every pointer in it must point to
/// memory of the size the kernel will read or write for this command.
pub unsafe fn bpf<A>(cmd: u32, attr: &mut A) -> SysResult<i64> {
    SYSCALLS.fetch_add(1, Ordering::Relaxed);
    // SAFETY: forwarded from the caller.
    unsafe { super::bpf(cmd, attr) }.map_err(|io| BpfError { cmd, io })
}

#[repr(C)]
#[derive(Default)]
struct ElemAttr {
    map_fd: u32,
    _pad: u32,
    key: u64,
    value: u64,
    flags: u64,
}

#[repr(C)]
#[derive(Default)]
pub struct BatchAttr {
    pub in_batch: u64,
    pub out_batch: u64,
    pub keys: u64,
    pub values: u64,
    pub count: u32,
    pub map_fd: u32,
    pub elem_flags: u64,
    pub flags: u64,
}

#[repr(C)]
#[derive(Default)]
pub struct CreateAttr {
    pub map_type: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub map_flags: u32,
    pub inner_map_fd: u32,
    pub numa_node: u32,
    pub map_name: [u8; 16],
    pub map_ifindex: u32,
    pub btf_fd: u32,
    pub btf_key_type_id: u32,
    pub btf_value_type_id: u32,
    pub btf_vmlinux_value_type_id: u32,
    pub map_extra: u64,
}


#[repr(C)]
#[derive(Default)]
struct GetFdByIdAttr {
    id: u32,
    next_id: u32,
    open_flags: u32,
}


/// The head of `struct bpf_map_info`: the fields this crate uses.
#[repr(C)]
#[derive(Default, Clone)]
pub struct MapInfo {
    pub map_type: u32,
    pub id: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub map_flags: u32,
    pub name: [u8; 16],
}


fn ptr_or_null(buf: Option<&[u8]>) -> u64 {
    buf.map_or(0, |b| b.as_ptr() as u64)
}

fn elem(cmd: u32, fd: BorrowedFd<'_>, key: u64, value: u64, flags: u64) -> SysResult<()> {
    let mut attr = ElemAttr { map_fd: fd.as_raw_fd() as u32, key, value, flags, ..Default::default() };
    // SAFETY: callers pass key/value pointers to buffers of the map's key and value sizes.
    unsafe { bpf(cmd, &mut attr) }.map(|_| ())
}

/// Looks `key` up into `value`. `Ok(false)` when there is no such element.
pub fn lookup(fd: BorrowedFd<'_>, key: Option<&[u8]>, value: &mut [u8], flags: u64) -> SysResult<bool> {
    absent_is_false(elem(BPF_MAP_LOOKUP_ELEM, fd, ptr_or_null(key), value.as_mut_ptr() as u64, flags))
}

pub fn update(fd: BorrowedFd<'_>, key: Option<&[u8]>, value: &[u8], flags: u64) -> SysResult<()> {
    elem(BPF_MAP_UPDATE_ELEM, fd, ptr_or_null(key), value.as_ptr() as u64, flags)
}

/// `Ok(false)` when there was no such element.
pub fn delete(fd: BorrowedFd<'_>, key: &[u8]) -> SysResult<bool> {
    absent_is_false(elem(BPF_MAP_DELETE_ELEM, fd, key.as_ptr() as u64, 0, 0))
}

/// Pop for queues and stacks (key `None`), or lookup-and-delete for hash maps.
pub fn lookup_and_delete(fd: BorrowedFd<'_>, key: Option<&[u8]>, value: &mut [u8]) -> SysResult<bool> {
    absent_is_false(elem(BPF_MAP_LOOKUP_AND_DELETE_ELEM, fd, ptr_or_null(key), value.as_mut_ptr() as u64, 0))
}

/// The key after `key` (the first key with `None`); `Ok(false)` at the end.
pub fn next_key(fd: BorrowedFd<'_>, key: Option<&[u8]>, next: &mut [u8]) -> SysResult<bool> {
    absent_is_false(elem(BPF_MAP_GET_NEXT_KEY, fd, ptr_or_null(key), next.as_mut_ptr() as u64, 0))
}

fn absent_is_false(r: SysResult<()>) -> SysResult<bool> {
    match r {
        Ok(()) => Ok(true),
        Err(e) if e.errno() == libc::ENOENT => Ok(false),
        Err(e) => Err(e),
    }
}

/// Runs a batch command; on success and on ENOENT (end of map) returns how many elements
/// the kernel processed (it sets `count` in both cases).
pub fn batch(cmd: u32, attr: &mut BatchAttr) -> SysResult<(u32, bool)> {
    // SAFETY: the callers size keys/values for `count` elements and the batch tokens for the key.
    match unsafe { bpf(cmd, attr) } {
        Ok(_) => Ok((attr.count, false)),
        Err(e) if e.errno() == libc::ENOENT => Ok((attr.count, true)),
        Err(e) => Err(e),
    }
}

pub fn create(attr: &mut CreateAttr) -> SysResult<OwnedFd> {
    // SAFETY: CreateAttr is a prefix of the kernel's map-create attributes; it holds no pointers.
    let fd = unsafe { bpf(BPF_MAP_CREATE, attr) }?;
    // SAFETY: the kernel returned a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}



pub fn map_fd_by_id(id: u32) -> SysResult<OwnedFd> {
    let mut attr = GetFdByIdAttr { id, ..Default::default() };
    // SAFETY: no pointers in the attributes.
    let fd = unsafe { bpf(BPF_MAP_GET_FD_BY_ID, &mut attr) }?;
    // SAFETY: a new fd owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

pub fn map_info(fd: BorrowedFd<'_>) -> SysResult<MapInfo> {
    let mut info = MapInfo::default();
    super::obj_info(fd, &mut info).map_err(|io| BpfError { cmd: super::BPF_OBJ_GET_INFO_BY_FD, io })?;
    Ok(info)
}


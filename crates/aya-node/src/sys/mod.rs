//! The few raw `bpf(2)` commands aya-node issues itself (test runs, pinning of any fd,
//! listing links, helper probes), plus the bpffs check for pin paths.
//!
//! Every attribute struct here is a prefix of the kernel's `union bpf_attr` member for that
//! command; the kernel zero-extends shorter attributes.

use std::{
    ffi::CString,
    io, mem,
    os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd},
    path::Path,
};

use crate::error::{Code, NodeError, Result};

pub mod map;

pub const BPF_OBJ_PIN: u32 = 6;
pub const BPF_OBJ_GET: u32 = 7;
pub const BPF_PROG_TEST_RUN: u32 = 10;
pub const BPF_OBJ_GET_INFO_BY_FD: u32 = 15;
pub const BPF_LINK_GET_FD_BY_ID: u32 = 30;
pub const BPF_LINK_GET_NEXT_ID: u32 = 31;
pub const BPF_PROG_LOAD: u32 = 5;

/// `union bpf_attr` for BPF_PROG_LOAD, up to `attach_btf_obj_fd`.
#[repr(C)]
#[derive(Default)]
pub struct ProgLoadAttr {
    pub prog_type: u32,
    pub insn_cnt: u32,
    pub insns: u64,
    pub license: u64,
    pub log_level: u32,
    pub log_size: u32,
    pub log_buf: u64,
    pub kern_version: u32,
    pub prog_flags: u32,
    pub prog_name: [u8; 16],
    pub prog_ifindex: u32,
    pub expected_attach_type: u32,
    pub prog_btf_fd: u32,
    pub func_info_rec_size: u32,
    pub func_info: u64,
    pub func_info_cnt: u32,
    pub line_info_rec_size: u32,
    pub line_info: u64,
    pub line_info_cnt: u32,
    pub attach_btf_id: u32,
    pub attach_btf_obj_fd: u32,
    /// Explicit, so it is zero: the kernel rejects non-zero bytes past the last field.
    pub _pad: u32,
}

/// `statfs.f_type` of a bpffs mount.
pub const BPF_FS_MAGIC: i64 = 0xcafe_4a11;

/// Calls `bpf(cmd, attr, sizeof attr)`, returning the (non-negative) result.
///
/// # Safety
/// `attr` must be a valid attribute layout for `cmd`, and every pointer inside it must be
/// valid for the kernel to read or write for the duration of the call.
pub unsafe fn bpf<T>(cmd: u32, attr: &mut T) -> io::Result<i64> {
    let ret = unsafe { libc::syscall(libc::SYS_bpf, cmd as libc::c_long, attr as *mut T, mem::size_of::<T>()) };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Turns the result of a `bpf()` that returns a new fd into an owned fd.
pub fn owned_fd(ret: i64) -> OwnedFd {
    // SAFETY: the kernel just returned this fd to us; nothing else owns it.
    unsafe { OwnedFd::from_raw_fd(ret as i32) }
}

#[repr(C)]
#[derive(Default)]
struct ObjAttr {
    pathname: u64,
    bpf_fd: u32,
    file_flags: u32,
    path_fd: i32,
    /// Explicit, so it is zero: the kernel rejects non-zero bytes past the last field.
    _pad: u32,
}

fn c_path(path: &str) -> Result<CString> {
    CString::new(path).map_err(|_| NodeError::new(Code::InvalidArgument, format!("pin path {path:?} contains a NUL byte")))
}

/// Fails with a clear error unless `path`'s directory is on a bpffs mount.
pub fn check_bpffs(path: &str) -> Result<()> {
    let dir = match Path::new(path).parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let dir_c = c_path(&dir.to_string_lossy())?;
    let mut st: libc::statfs = unsafe { mem::zeroed() };
    // SAFETY: valid C string and a valid out pointer.
    if unsafe { libc::statfs(dir_c.as_ptr(), &mut st) } != 0 {
        let mut e = NodeError::syscall("statfs", io::Error::last_os_error());
        if e.errno == Some(libc::ENOENT) {
            e.code = Code::NotFound;
        }
        e.message = format!("pin path {path}: directory {} is not accessible: {}", dir.display(), e.message);
        return Err(e);
    }
    if st.f_type as i64 != BPF_FS_MAGIC {
        return Err(NodeError::new(
            Code::InvalidArgument,
            format!(
                "pin path {path} is not on a BPF filesystem: {} is not a bpffs mount (mount one with `mount -t bpf bpf /sys/fs/bpf`)",
                dir.display()
            ),
        ));
    }
    Ok(())
}

/// `BPF_OBJ_PIN`: pins any program, map or link fd at `path` (on bpffs).
pub fn pin_fd(fd: BorrowedFd<'_>, path: &str) -> Result<()> {
    check_bpffs(path)?;
    let c = c_path(path)?;
    let mut attr = ObjAttr { pathname: c.as_ptr() as u64, bpf_fd: fd.as_raw_fd() as u32, ..Default::default() };
    // SAFETY: `c` outlives the call; the layout matches the BPF_OBJ_PIN attribute.
    unsafe { bpf(BPF_OBJ_PIN, &mut attr) }.map_err(|e| path_error("BPF_OBJ_PIN", path, e))?;
    Ok(())
}

/// `BPF_OBJ_GET`: opens whatever is pinned at `path`.
pub fn get_pinned(path: &str) -> Result<OwnedFd> {
    check_bpffs(path)?;
    let c = c_path(path)?;
    let mut attr = ObjAttr { pathname: c.as_ptr() as u64, ..Default::default() };
    // SAFETY: as above, for BPF_OBJ_GET.
    let ret = unsafe { bpf(BPF_OBJ_GET, &mut attr) }.map_err(|e| path_error("BPF_OBJ_GET", path, e))?;
    Ok(owned_fd(ret))
}

fn path_error(call: &str, path: &str, err: io::Error) -> NodeError {
    let mut e = NodeError::syscall(call, err);
    match e.errno {
        Some(libc::ENOENT) => e.code = Code::NotFound,
        Some(libc::EEXIST) => e.code = Code::Busy,
        _ => {}
    }
    e.message = format!("{} ({path})", e.message);
    e
}

/// What kind of bpf object an fd refers to: `program`, `map`, `link` (or `btf`, `unknown`).
pub fn fd_kind(fd: BorrowedFd<'_>) -> &'static str {
    let target = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap_or_default();
    match target.to_string_lossy().as_ref() {
        "anon_inode:bpf-prog" => "program",
        "anon_inode:bpf-map" => "map",
        "anon_inode:bpf_link" | "anon_inode:bpf-link" => "link",
        "anon_inode:btf" => "btf",
        _ => "unknown",
    }
}

/// A numeric field of `/proc/self/fdinfo/<fd>` (e.g. `memlock`, `prog_id`).
pub fn fdinfo_field(fd: BorrowedFd<'_>, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd())).ok()?;
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        (k.trim() == key).then(|| v.trim().parse().ok()).flatten()
    })
}

#[repr(C)]
#[derive(Default)]
struct InfoAttr {
    bpf_fd: u32,
    info_len: u32,
    info: u64,
}

/// `BPF_OBJ_GET_INFO_BY_FD` into `info` (a kernel `bpf_*_info` prefix).
pub fn obj_info<T>(fd: BorrowedFd<'_>, info: &mut T) -> io::Result<()> {
    let mut attr = InfoAttr { bpf_fd: fd.as_raw_fd() as u32, info_len: mem::size_of::<T>() as u32, info: info as *mut T as u64 };
    // SAFETY: `info` is valid for `info_len` bytes during the call.
    unsafe { bpf(BPF_OBJ_GET_INFO_BY_FD, &mut attr) }.map(|_| ())
}

/// The head of the kernel's `struct bpf_link_info` (type, id, program id).
#[repr(C)]
#[derive(Default)]
pub struct LinkInfoHead {
    pub link_type: u32,
    pub id: u32,
    pub prog_id: u32,
    _pad: u32,
    /// The type-specific union; only its size matters here.
    _rest: [u64; 8],
}

#[repr(C)]
#[derive(Default)]
struct GetIdAttr {
    id: u32,
    next_id: u32,
    open_flags: u32,
}

/// Ids of every link on the system.
pub fn link_ids() -> Result<Vec<u32>> {
    let mut ids = Vec::new();
    let mut start = 0;
    loop {
        let mut attr = GetIdAttr { id: start, ..Default::default() };
        // SAFETY: plain attribute without pointers.
        match unsafe { bpf(BPF_LINK_GET_NEXT_ID, &mut attr) } {
            Ok(_) => {
                ids.push(attr.next_id);
                start = attr.next_id;
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(ids),
            Err(e) => return Err(NodeError::syscall("BPF_LINK_GET_NEXT_ID", e)),
        }
    }
}

/// An fd for link `id` (None if it went away meanwhile).
pub fn link_fd_by_id(id: u32) -> Result<Option<OwnedFd>> {
    let mut attr = GetIdAttr { id, ..Default::default() };
    // SAFETY: plain attribute without pointers.
    match unsafe { bpf(BPF_LINK_GET_FD_BY_ID, &mut attr) } {
        Ok(fd) => Ok(Some(owned_fd(fd))),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
        Err(e) => Err(NodeError::syscall("BPF_LINK_GET_FD_BY_ID", e)),
    }
}

pub const BPF_ITER_CREATE: u32 = 33;

#[repr(C)]
#[derive(Default)]
struct IterCreateAttr {
    link_fd: u32,
    flags: u32,
}

/// A new iteration of the iterator link `link`: reading the returned fd runs the program over
/// the iterated objects, until end of file.
pub fn iter_create(link: BorrowedFd<'_>) -> Result<OwnedFd> {
    let mut attr = IterCreateAttr { link_fd: link.as_raw_fd() as u32, flags: 0 };
    // SAFETY: plain attribute without pointers.
    let fd = unsafe { bpf(BPF_ITER_CREATE, &mut attr) }.map_err(|e| NodeError::syscall("BPF_ITER_CREATE", e))?;
    Ok(owned_fd(fd))
}

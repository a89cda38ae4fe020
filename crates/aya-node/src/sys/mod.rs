//! The one way aya-node calls `bpf(2)` itself: [`bpf`], on the kernel's own `union bpf_attr`
//! and `enum bpf_cmd` as aya-obj generates them from the kernel headers (the bindings Aya
//! uses), so no attribute layout is written by hand. Aya issues everything else.
//!
//! Commands are grouped by what they act on: [`map`] (elements, batches, create, info),
//! [`prog`] (test runs, probe loads, queries), and here the ones for any bpf object (pin, get,
//! info, ids, iterators), plus the bpffs and fdinfo helpers.
//!
//! The seam: unit tests install a fake kernel per thread ([`fake::with_kernel`]) that answers
//! every call instead of the syscall, so logic above this layer is tested without a kernel.

use std::{
    ffi::CString,
    io, mem,
    os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd},
    path::Path,
};

pub use aya_obj::generated::{bpf_attr, bpf_cmd, bpf_link_info, bpf_map_info};

use crate::error::{Code, NodeError, Result};

pub mod map;
pub mod prog;

/// The kernel's internal "operation not supported" (not in libc): e.g. a map type without a
/// command, or a program type that cannot be test-run.
pub const ENOTSUPP: i32 = 524;

/// `statfs.f_type` of a bpffs mount.
pub const BPF_FS_MAGIC: i64 = 0xcafe_4a11;

/// A failed bpf() call: the command and the kernel's errno.
#[derive(Debug)]
pub struct BpfError {
    pub cmd: bpf_cmd,
    pub io: io::Error,
}

impl BpfError {
    pub fn errno(&self) -> i32 {
        self.io.raw_os_error().unwrap_or(0)
    }
}

/// The command's name as the kernel headers spell it, e.g. `BPF_MAP_LOOKUP_ELEM`.
pub fn command_name(cmd: bpf_cmd) -> String {
    format!("{cmd:?}")
}

impl From<BpfError> for NodeError {
    fn from(e: BpfError) -> Self {
        let errno = e.errno();
        let name = command_name(e.cmd);
        let mut err = NodeError::syscall(&name, e.io);
        if errno == ENOTSUPP {
            err.message = format!("{name}: this map type does not support the operation (ENOTSUPP)");
        }
        err
    }
}

pub type SysResult<T> = std::result::Result<T, BpfError>;

/// An all-zero `bpf_attr`: the kernel wants every byte a command does not use to be zero.
pub fn zeroed_attr() -> bpf_attr {
    // SAFETY: bpf_attr is plain data (integers and unions of integers); all-zero is valid.
    unsafe { mem::zeroed() }
}

/// Calls `bpf(cmd, attr, sizeof attr)`, returning the (non-negative) result.
///
/// # Safety
/// `attr` must hold valid attributes for `cmd` (zero elsewhere), and every pointer inside it
/// must be valid for the kernel to read or write, at the sizes given, for the whole call.
pub unsafe fn bpf(cmd: bpf_cmd, attr: &mut bpf_attr) -> SysResult<i64> {
    #[cfg(test)]
    if let Some(answer) = fake::call(cmd, attr) {
        return answer.map_err(|io| BpfError { cmd, io });
    }
    // SAFETY: forwarded from the caller; the size is the whole union, which the kernel accepts
    // (bytes past its own union must be, and are, zero).
    let ret = unsafe { libc::syscall(libc::SYS_bpf, cmd as libc::c_long, attr as *mut bpf_attr, mem::size_of::<bpf_attr>()) };
    if ret < 0 {
        Err(BpfError { cmd, io: io::Error::last_os_error() })
    } else {
        Ok(ret)
    }
}

/// Turns the result of a `bpf()` that returns a new fd into an owned fd.
pub fn owned_fd(ret: i64) -> OwnedFd {
    // SAFETY: the kernel just returned this fd to us; nothing else owns it.
    unsafe { OwnedFd::from_raw_fd(ret as i32) }
}

#[cfg(test)]
pub mod fake {
    //! A fake kernel for unit tests: a handler that answers this thread's bpf() calls.

    use std::{cell::RefCell, io};

    use super::{bpf_attr, bpf_cmd};

    type Handler = Box<dyn FnMut(bpf_cmd, &mut bpf_attr) -> io::Result<i64>>;

    thread_local! {
        static KERNEL: RefCell<Option<Handler>> = const { RefCell::new(None) };
    }

    /// Runs `f` with `handler` answering every bpf() call made on this thread.
    pub fn with_kernel<R>(handler: impl FnMut(bpf_cmd, &mut bpf_attr) -> io::Result<i64> + 'static, f: impl FnOnce() -> R) -> R {
        let previous = KERNEL.with(|k| k.borrow_mut().replace(Box::new(handler)));
        let result = f();
        KERNEL.with(|k| *k.borrow_mut() = previous);
        result
    }

    pub(super) fn call(cmd: bpf_cmd, attr: &mut bpf_attr) -> Option<io::Result<i64>> {
        KERNEL.with(|k| k.borrow_mut().as_mut().map(|handler| handler(cmd, attr)))
    }

    /// An errno as a handler's answer.
    pub fn errno(code: i32) -> io::Result<i64> {
        Err(io::Error::from_raw_os_error(code))
    }
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
    let mut attr = zeroed_attr();
    attr.__bindgen_anon_4.pathname = c.as_ptr() as u64;
    attr.__bindgen_anon_4.bpf_fd = fd.as_raw_fd() as u32;
    // SAFETY: `c` outlives the call.
    unsafe { bpf(bpf_cmd::BPF_OBJ_PIN, &mut attr) }.map_err(|e| path_error("BPF_OBJ_PIN", path, e.io))?;
    Ok(())
}

/// `BPF_OBJ_GET`: opens whatever is pinned at `path`.
pub fn get_pinned(path: &str) -> Result<OwnedFd> {
    check_bpffs(path)?;
    let c = c_path(path)?;
    let mut attr = zeroed_attr();
    attr.__bindgen_anon_4.pathname = c.as_ptr() as u64;
    // SAFETY: as above.
    let ret = unsafe { bpf(bpf_cmd::BPF_OBJ_GET, &mut attr) }.map_err(|e| path_error("BPF_OBJ_GET", path, e.io))?;
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

/// `BPF_OBJ_GET_INFO_BY_FD` into `info` (a kernel `bpf_*_info` struct, or a prefix of one).
pub fn obj_info<T: Copy>(fd: BorrowedFd<'_>, info: &mut T) -> SysResult<()> {
    let mut attr = zeroed_attr();
    attr.info.bpf_fd = fd.as_raw_fd() as u32;
    attr.info.info_len = mem::size_of::<T>() as u32;
    attr.info.info = info as *mut T as u64;
    // SAFETY: `info` is valid for `info_len` bytes during the call.
    unsafe { bpf(bpf_cmd::BPF_OBJ_GET_INFO_BY_FD, &mut attr) }.map(|_| ())
}

/// The info of link `fd` (type, id, program id, and the type-specific part).
pub fn link_info(fd: BorrowedFd<'_>) -> SysResult<bpf_link_info> {
    // SAFETY: plain data; all-zero is valid.
    let mut info: bpf_link_info = unsafe { mem::zeroed() };
    obj_info(fd, &mut info)?;
    Ok(info)
}

/// Ids of every link on the system.
pub fn link_ids() -> Result<Vec<u32>> {
    all_ids(bpf_cmd::BPF_LINK_GET_NEXT_ID)
}

/// Every id a `BPF_*_GET_NEXT_ID` command walks through.
fn all_ids(cmd: bpf_cmd) -> Result<Vec<u32>> {
    let mut ids = Vec::new();
    let mut start = 0;
    loop {
        let mut attr = zeroed_attr();
        attr.__bindgen_anon_6.__bindgen_anon_1.start_id = start;
        // SAFETY: no pointers in these attributes.
        match unsafe { bpf(cmd, &mut attr) } {
            Ok(_) => {
                // SAFETY: the kernel filled in this member of the union.
                start = unsafe { attr.__bindgen_anon_6.next_id };
                ids.push(start);
            }
            Err(e) if e.errno() == libc::ENOENT => return Ok(ids),
            Err(e) => return Err(e.into()),
        }
    }
}

/// An fd for the kernel's BTF named `name` (`vmlinux` or a module's, as in /sys/kernel/btf),
/// for instructions and attributes that name a module's BTF by fd.
pub fn kernel_btf_fd(name: &str) -> Result<Option<OwnedFd>> {
    for id in all_ids(bpf_cmd::BPF_BTF_GET_NEXT_ID)? {
        let mut attr = zeroed_attr();
        attr.__bindgen_anon_6.__bindgen_anon_1.btf_id = id;
        // SAFETY: no pointers in these attributes.
        let fd = match unsafe { bpf(bpf_cmd::BPF_BTF_GET_FD_BY_ID, &mut attr) } {
            Ok(fd) => owned_fd(fd),
            Err(e) if e.errno() == libc::ENOENT => continue,
            Err(e) => return Err(e.into()),
        };
        let mut buffer = [0u8; 64];
        // SAFETY: plain data; all-zero is valid.
        let mut info: aya_obj::generated::bpf_btf_info = unsafe { mem::zeroed() };
        info.name = buffer.as_mut_ptr() as u64;
        info.name_len = buffer.len() as u32;
        obj_info(fd.as_fd(), &mut info)?;
        let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
        if info.kernel_btf != 0 && &buffer[..end] == name.as_bytes() {
            return Ok(Some(fd));
        }
    }
    Ok(None)
}

/// An fd for link `id` (None if it went away meanwhile).
pub fn link_fd_by_id(id: u32) -> Result<Option<OwnedFd>> {
    let mut attr = zeroed_attr();
    attr.__bindgen_anon_6.__bindgen_anon_1.link_id = id;
    // SAFETY: no pointers in these attributes.
    match unsafe { bpf(bpf_cmd::BPF_LINK_GET_FD_BY_ID, &mut attr) } {
        Ok(fd) => Ok(Some(owned_fd(fd))),
        Err(e) if e.errno() == libc::ENOENT => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// `BPF_BTF_LOAD` of raw BTF (no log).
pub fn btf_load(btf: &[u8]) -> SysResult<OwnedFd> {
    let mut attr = zeroed_attr();
    // SAFETY: writing plain integers into the member this command uses.
    let load = unsafe { &mut attr.__bindgen_anon_7 };
    load.btf = btf.as_ptr() as u64;
    load.btf_size = btf.len() as u32;
    // SAFETY: `btf` outlives the call.
    let fd = unsafe { bpf(bpf_cmd::BPF_BTF_LOAD, &mut attr) }?;
    Ok(owned_fd(fd))
}

/// A new iteration of the iterator link `link`: reading the returned fd runs the program over
/// the iterated objects, until end of file.
pub fn iter_create(link: BorrowedFd<'_>) -> Result<OwnedFd> {
    let mut attr = zeroed_attr();
    attr.iter_create.link_fd = link.as_raw_fd() as u32;
    // SAFETY: no pointers in these attributes.
    let fd = unsafe { bpf(bpf_cmd::BPF_ITER_CREATE, &mut attr) }?;
    Ok(owned_fd(fd))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_ids_walk_the_ids_until_the_kernel_says_enoent() {
        let ids = fake::with_kernel(
            |cmd, attr| {
                assert_eq!(cmd, bpf_cmd::BPF_LINK_GET_NEXT_ID);
                // SAFETY: the member id commands use.
                let get = unsafe { &mut attr.__bindgen_anon_6 };
                get.next_id = match unsafe { get.__bindgen_anon_1.start_id } {
                    0 => 3,
                    3 => 7,
                    _ => return fake::errno(libc::ENOENT),
                };
                Ok(0)
            },
            link_ids,
        );
        assert_eq!(ids.unwrap(), vec![3, 7]);
    }

    #[test]
    fn kernel_errors_keep_the_command_and_errno() {
        let err = fake::with_kernel(|_, _| fake::errno(libc::EPERM), link_ids).unwrap_err();
        assert_eq!(err.errno, Some(libc::EPERM));
        assert_eq!(err.syscall.as_deref(), Some("BPF_LINK_GET_NEXT_ID"));
        let gone = fake::with_kernel(|_, _| fake::errno(libc::ENOENT), || link_fd_by_id(5)).unwrap();
        assert!(gone.is_none(), "a link that went away meanwhile is no error");
    }

    #[test]
    fn the_fake_kernel_is_per_thread_and_removed_after_use() {
        fake::with_kernel(|_, _| Ok(0), || {
            let other = std::thread::spawn(|| fake::call(bpf_cmd::BPF_MAP_CREATE, &mut zeroed_attr()).is_none());
            assert!(other.join().unwrap(), "another thread sees no fake");
        });
        assert!(fake::call(bpf_cmd::BPF_MAP_CREATE, &mut zeroed_attr()).is_none());
    }

    #[test]
    fn bpffs_checks_refuse_other_file_systems() {
        let err = check_bpffs("/proc/x").unwrap_err();
        assert!(matches!(err.code, Code::InvalidArgument), "{}", err.message);
        let err = check_bpffs("/no/such/dir/x").unwrap_err();
        assert!(matches!(err.code, Code::NotFound), "{}", err.message);
        assert!(matches!(c_path("a\0b").unwrap_err().code, Code::InvalidArgument));
    }
}

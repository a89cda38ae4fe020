//! Where programs attach: cgroup v2 directories (and the attach mode), network namespaces and
//! the interfaces inside them.

use std::{fs::File, os::fd::AsRawFd};

use crate::error::{Code, NodeError, Result};

/// Opens the cgroup v2 directory at `path`; a missing one is a NOT_FOUND error naming it.
pub fn open_cgroup(path: &str) -> Result<File> {
    let file = File::open(path).map_err(|e| {
        let missing = e.kind() == std::io::ErrorKind::NotFound;
        let mut err = NodeError::syscall("open", e);
        err.message = format!("opening cgroup {path}: {}", err.message);
        if missing {
            err.code = Code::NotFound;
            err.message = format!("no cgroup at {path}");
        }
        err
    })?;
    let is_dir = file.metadata().map(|m| m.is_dir()).unwrap_or(false);
    if !is_dir {
        return Err(NodeError::new(Code::InvalidArgument, format!("{path} is not a cgroup directory")));
    }
    // A directory of a v1 hierarchy (or of any other file system) would make the kernel answer
    // a bare EBADF at attach; say what is wrong instead.
    if !is_cgroup2(&file) {
        return Err(NodeError::new(
            Code::InvalidArgument,
            format!("{path} is not in a cgroup v2 hierarchy (programs attach to cgroup2 directories, e.g. under /sys/fs/cgroup or /sys/fs/cgroup/unified)"),
        ));
    }
    Ok(file)
}

/// `statfs.f_type` of a cgroup2 mount.
const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;

fn is_cgroup2(file: &File) -> bool {
    let mut stat = std::mem::MaybeUninit::<libc::statfs>::uninit();
    // SAFETY: fstatfs fills `stat` on success; it is read only then.
    if unsafe { libc::fstatfs(file.as_raw_fd(), stat.as_mut_ptr()) } != 0 {
        return true; // cannot tell: let the kernel decide
    }
    // SAFETY: fstatfs succeeded.
    let f_type = unsafe { stat.assume_init() }.f_type;
    #[allow(clippy::unnecessary_cast)] // f_type is not an i64 on every architecture
    let f_type = f_type as i64;
    f_type == CGROUP2_SUPER_MAGIC
}

/// `"single" | "override" | "multiple"` as Aya's cgroup attach mode. Default `single`: on
/// kernels with BPF links (5.7+) Aya attaches through a link, which the kernel always lets
/// coexist with other programs on the cgroup and which takes no flags; the other modes only
/// apply to the older BPF_PROG_ATTACH path.
pub fn cgroup_attach_mode(mode: Option<&str>) -> Result<aya::programs::links::CgroupAttachMode> {
    use aya::programs::links::CgroupAttachMode;
    match mode.unwrap_or("single") {
        "single" => Ok(CgroupAttachMode::Single),
        "override" => Ok(CgroupAttachMode::AllowOverride),
        "multiple" => Ok(CgroupAttachMode::AllowMultiple),
        other => Err(NodeError::new(
            Code::InvalidArgument,
            format!("unknown cgroup attach mode `{other}` (expected single, override or multiple)"),
        )),
    }
}

/// Opens the network namespace at `path` (e.g. `/run/netns/NAME`); a missing one is NOT_FOUND.
pub fn open_netns(path: &str) -> Result<File> {
    File::open(path).map_err(|e| {
        let missing = e.kind() == std::io::ErrorKind::NotFound;
        let mut err = NodeError::syscall("open", e);
        if missing {
            err.code = Code::NotFound;
        }
        err.message = format!("no network namespace at {path}: {}", err.message);
        err
    })
}

/// Runs `f` on a thread that has joined the network namespace `netns`, or right here without
/// one. Interface names and indexes, netlink and `bpf_link_create` on an ifindex all act in
/// the calling thread's namespace; links made there stay valid after the thread ends.
pub fn in_netns<T: Send>(netns: Option<&File>, f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    let Some(file) = netns else {
        return f();
    };
    std::thread::scope(|scope| {
        scope
            .spawn(move || {
                // SAFETY: setns on a namespace fd we own; it changes only this thread.
                if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                    let mut err = NodeError::syscall("setns", std::io::Error::last_os_error());
                    err.message = format!("entering the network namespace: {}", err.message);
                    return Err(err);
                }
                f()
            })
            .join()
            .unwrap_or_else(|_| Err(NodeError::new(Code::Kernel, "the network-namespace thread failed")))
    })
}

/// The index of interface `name` in the current thread's network namespace.
pub fn interface_index(name: &str) -> Result<u32> {
    let c_name = std::ffi::CString::new(name)
        .map_err(|_| NodeError::new(Code::InvalidArgument, format!("interface name {name:?} contains a NUL byte")))?;
    // SAFETY: a valid NUL-terminated string.
    let index = unsafe { libc::if_nametoindex(c_name.as_ptr()) };
    if index == 0 {
        let mut err = NodeError::new(Code::NotFound, format!("no network interface named `{name}`"));
        err.errno = std::io::Error::last_os_error().raw_os_error();
        return Err(err);
    }
    Ok(index)
}

/// The name of interface `index` in the current thread's network namespace.
pub fn interface_name(index: u32) -> Result<String> {
    let mut buf = [0u8; libc::IF_NAMESIZE];
    // SAFETY: buf has IF_NAMESIZE bytes, as if_indextoname requires.
    let ret = unsafe { libc::if_indextoname(index, buf.as_mut_ptr().cast()) };
    if ret.is_null() {
        let mut err = NodeError::new(Code::NotFound, format!("no network interface with index {index}"));
        err.errno = std::io::Error::last_os_error().raw_os_error();
        return Err(err);
    }
    let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    Ok(String::from_utf8_lossy(&buf[..len]).into_owned())
}

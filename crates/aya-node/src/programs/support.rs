//! What several program types share: picking a program of the wanted type, the kernel's BTF,
//! opening cgroups, acting inside another network namespace, and links made of several links.

use std::{
    fs::File,
    os::fd::AsRawFd,
    sync::OnceLock,
};

use aya::{programs::{Program, ProgramError}, Btf};

use crate::{
    error::{AyaContext, Code, NodeError, Result},
    link::{wrong_type, ErasedLink},
    object::{program_kind, ObjectState},
};

/// The program `name` as the variant `pick` selects, or a WRONG_TYPE error naming its real kind.
pub fn typed<'a, P>(
    state: &'a mut ObjectState,
    name: &str,
    wanted: &str,
    pick: impl FnOnce(&mut Program) -> Option<&mut P>,
) -> Result<&'a mut P> {
    let program = state.program(name)?;
    let actual = program_kind(program);
    pick(program).ok_or_else(|| wrong_type(name, wanted, actual))
}

static KERNEL_BTF: OnceLock<Btf> = OnceLock::new();

/// The running kernel's BTF (`/sys/kernel/btf/vmlinux`), parsed once per process.
pub fn kernel_btf() -> Result<&'static Btf> {
    if let Some(btf) = KERNEL_BTF.get() {
        return Ok(btf);
    }
    let btf = Btf::from_sys_fs().context(|| "reading the kernel's BTF from /sys/kernel/btf/vmlinux".to_string())?;
    Ok(KERNEL_BTF.get_or_init(|| btf))
}

/// A BTF lookup that failed because the name is not in the kernel's BTF is a NOT_FOUND error.
pub fn btf_target_error(err: NodeError, what: &str, name: &str) -> NodeError {
    if err.message.contains("Unknown BTF type") || err.message.contains("unknown BTF type") {
        let mut e = NodeError::new(Code::NotFound, format!("the kernel has no {what} `{name}` (not in its BTF)"));
        e.errno = err.errno;
        return e;
    }
    err
}

/// The body of `attach_…` for the program types loaded against one BTF target (tp_btf,
/// fentry, fexit, LSM): each has `load(target, btf)`, `attach()` and `take_link`, but Aya gives
/// them no common trait, hence a macro. `$what` names the target in messages.
macro_rules! attach_btf_targeted {
    ($object:expr, $program:expr, $target:expr, $variant:ident, $kind:literal, $what:literal) => {{
        use $crate::error::AyaContext as _;
        let (program, target): (&str, &str) = (&$program, &$target);
        let btf = $crate::programs::support::kernel_btf()?;
        let link = {
            let mut state = $crate::object::lock(&$object.state);
            let prog = $crate::programs::support::typed(&mut state, program, $kind, |p| match p {
                aya::programs::Program::$variant(p) => Some(p),
                _ => None,
            })?;
            if prog.fd().is_err() {
                prog.load(target, btf)
                    .context(|| format!("loading program `{program}` for {} {target}", $what))
                    .map_err(|e| $crate::programs::support::btf_target_error(e, $what, target))?;
            }
            let id = prog.attach().context(|| format!("attaching `{program}` to {} {target}", $what))?;
            prog.take_link(id).context(|| format!("taking the link of `{program}`"))?
        };
        Ok($object.link($kind, Box::new(link)))
    }};
}
pub(crate) use attach_btf_targeted;

/// The steps every `attach_…` method shares: take program `$program` as a
/// `Program::$variant` (else WRONG_TYPE naming `$kind`), load it on first use, run `$attach`
/// (an expression over `$prog` giving the link id, its errors already in context) and take
/// the link out of Aya's program. Evaluates to that link. Aya's program types share no trait
/// for this, hence a macro.
macro_rules! load_and_attach {
    ($object:expr, $program:expr, $variant:ident, $kind:literal, |$prog:ident| $attach:expr) => {{
        let program: &str = &$program;
        let mut state = $crate::object::lock(&$object.state);
        let $prog = $crate::programs::support::typed(&mut state, program, $kind, |p| match p {
            aya::programs::Program::$variant(p) => Some(p),
            _ => None,
        })?;
        if $prog.fd().is_err() {
            $crate::error::AyaContext::context($prog.load(), || format!("loading program `{program}`"))?;
        }
        let id = $attach;
        $crate::error::AyaContext::context($prog.take_link(id), || format!("taking the link of `{program}`"))?
    }};
}
pub(crate) use load_and_attach;

/// The body of `attach_…` for the program types attached to a cgroup v2 directory with an
/// attach mode alone (cgroup_device, cgroup_sock, cgroup_sock_addr, cgroup_sockopt,
/// cgroup_sysctl, sock_ops).
macro_rules! attach_to_cgroup {
    ($object:expr, $program:expr, $cgroup:expr, $mode:expr, $variant:ident, $kind:literal) => {{
        use $crate::error::AyaContext as _;
        let (program, cgroup): (&str, &str) = (&$program, &$cgroup);
        let mode = $crate::programs::support::cgroup_attach_mode($mode)?;
        let cgroup_dir = $crate::programs::support::open_cgroup(cgroup)?;
        let link = $crate::programs::support::load_and_attach!($object, program, $variant, $kind, |prog| prog
            .attach(&cgroup_dir, mode)
            .context(|| format!("attaching `{program}` to cgroup {cgroup}"))?);
        Ok($object.link($kind, Box::new(link)))
    }};
}
pub(crate) use attach_to_cgroup;

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

/// A link made inside another network namespace. Netlink-based links (TC filters, XDP on old
/// kernels) name their interface by index, so they must be detached from that namespace too,
/// including when the object is dropped without `close()`.
pub struct InNetnsLink {
    pub netns: File,
    pub link: Option<Box<dyn ErasedLink>>,
}

impl InNetnsLink {
    fn detach_inner(&mut self) -> std::result::Result<(), ProgramError> {
        let Some(link) = self.link.take() else {
            return Ok(());
        };
        let mut outcome = Ok(());
        let entered = in_netns(Some(&self.netns), || {
            outcome = link.detach();
            Ok(())
        });
        if let Err(e) = entered {
            return Err(ProgramError::SyscallError(aya::sys::SyscallError {
                call: "setns",
                io_error: std::io::Error::from_raw_os_error(e.errno.unwrap_or(libc::EINVAL)),
            }));
        }
        outcome
    }
}

impl ErasedLink for InNetnsLink {
    fn detach(mut self: Box<Self>) -> std::result::Result<(), ProgramError> {
        self.detach_inner()
    }
}

impl Drop for InNetnsLink {
    fn drop(&mut self) {
        let _ = self.detach_inner();
    }
}

/// Wraps `link` so that it is detached inside `netns` when it was made there.
pub fn netns_link(netns: Option<File>, link: Box<dyn ErasedLink>) -> Box<dyn ErasedLink> {
    match netns {
        Some(netns) => Box::new(InNetnsLink { netns, link: Some(link) }),
        None => link,
    }
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

/// Several links that attach and detach together (e.g. one perf event per CPU).
pub struct ManyLinks(pub Vec<Box<dyn ErasedLink>>);

impl ErasedLink for ManyLinks {
    fn detach(self: Box<Self>) -> std::result::Result<(), ProgramError> {
        let mut first_error = None;
        for link in self.0 {
            if let Err(e) = link.detach() {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
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

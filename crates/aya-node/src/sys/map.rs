//! The bpf() commands on maps, on raw bytes: Aya covers single-element operations but not the
//! batch commands, and its typed maps want Rust types; the map handles work on byte buffers
//! whose sizes the caller has checked.
//!
//! Every call is counted ([`syscall_count`]) so tests and benchmarks can see how many crossings
//! into the kernel an operation took.

use std::{
    os::fd::{AsRawFd, BorrowedFd, OwnedFd},
    sync::atomic::{AtomicU64, Ordering},
};

use aya_obj::generated::{bpf_attr__bindgen_ty_1, bpf_attr__bindgen_ty_3};

use super::{bpf_attr, bpf_cmd, bpf_map_info, owned_fd, zeroed_attr, SysResult};

/// The attributes of `BPF_MAP_CREATE`.
pub type CreateAttr = bpf_attr__bindgen_ty_1;
/// The attributes of the batch commands.
pub type BatchAttr = bpf_attr__bindgen_ty_3;

static SYSCALLS: AtomicU64 = AtomicU64::new(0);

/// How many bpf() syscalls the map layer has made since the process started.
pub fn syscall_count() -> u64 {
    SYSCALLS.load(Ordering::Relaxed)
}

/// [`super::bpf`], counted.
///
/// # Safety
/// As for [`super::bpf`].
unsafe fn bpf(cmd: bpf_cmd, attr: &mut bpf_attr) -> SysResult<i64> {
    SYSCALLS.fetch_add(1, Ordering::Relaxed);
    // SAFETY: forwarded from the caller.
    unsafe { super::bpf(cmd, attr) }
}

fn ptr_or_null(buf: Option<&[u8]>) -> u64 {
    buf.map_or(0, |b| b.as_ptr() as u64)
}

fn elem(cmd: bpf_cmd, fd: BorrowedFd<'_>, key: u64, value: u64, flags: u64) -> SysResult<()> {
    let mut attr = zeroed_attr();
    attr.__bindgen_anon_2.map_fd = fd.as_raw_fd() as u32;
    attr.__bindgen_anon_2.key = key;
    attr.__bindgen_anon_2.__bindgen_anon_1.value = value;
    attr.__bindgen_anon_2.flags = flags;
    // SAFETY: callers pass key/value pointers to buffers of the map's key and value sizes.
    unsafe { bpf(cmd, &mut attr) }.map(|_| ())
}

/// Looks `key` up into `value`. `Ok(false)` when there is no such element.
pub fn lookup(fd: BorrowedFd<'_>, key: Option<&[u8]>, value: &mut [u8], flags: u64) -> SysResult<bool> {
    absent_is_false(elem(bpf_cmd::BPF_MAP_LOOKUP_ELEM, fd, ptr_or_null(key), value.as_mut_ptr() as u64, flags))
}

pub fn update(fd: BorrowedFd<'_>, key: Option<&[u8]>, value: &[u8], flags: u64) -> SysResult<()> {
    elem(bpf_cmd::BPF_MAP_UPDATE_ELEM, fd, ptr_or_null(key), value.as_ptr() as u64, flags)
}

/// `Ok(false)` when there was no such element.
pub fn delete(fd: BorrowedFd<'_>, key: &[u8]) -> SysResult<bool> {
    absent_is_false(elem(bpf_cmd::BPF_MAP_DELETE_ELEM, fd, key.as_ptr() as u64, 0, 0))
}

/// Pop for queues and stacks (key `None`), or lookup-and-delete for hash maps.
pub fn lookup_and_delete(fd: BorrowedFd<'_>, key: Option<&[u8]>, value: &mut [u8]) -> SysResult<bool> {
    absent_is_false(elem(bpf_cmd::BPF_MAP_LOOKUP_AND_DELETE_ELEM, fd, ptr_or_null(key), value.as_mut_ptr() as u64, 0))
}

/// The key after `key` (the first key with `None`); `Ok(false)` at the end.
pub fn next_key(fd: BorrowedFd<'_>, key: Option<&[u8]>, next: &mut [u8]) -> SysResult<bool> {
    absent_is_false(elem(bpf_cmd::BPF_MAP_GET_NEXT_KEY, fd, ptr_or_null(key), next.as_mut_ptr() as u64, 0))
}

fn absent_is_false(r: SysResult<()>) -> SysResult<bool> {
    match r {
        Ok(()) => Ok(true),
        Err(e) if e.errno() == libc::ENOENT => Ok(false),
        Err(e) => Err(e),
    }
}

/// Batch attributes for map `fd`, everything else zero.
pub fn batch_attr(fd: BorrowedFd<'_>) -> BatchAttr {
    // SAFETY: plain data; all-zero is valid.
    let mut attr: BatchAttr = unsafe { std::mem::zeroed() };
    attr.map_fd = fd.as_raw_fd() as u32;
    attr
}

/// Runs a batch command; on success and on ENOENT (end of map, or a missing key for delete)
/// returns how many elements the kernel processed (it sets `count` in both cases) and whether
/// it was ENOENT. `attr.count` is updated too.
pub fn batch(cmd: bpf_cmd, batch: &mut BatchAttr) -> SysResult<(u32, bool)> {
    let mut attr = zeroed_attr();
    attr.batch = *batch;
    // SAFETY: the callers size keys/values for `count` elements and the batch tokens for the key.
    let result = unsafe { bpf(cmd, &mut attr) };
    // SAFETY: the member the command uses, which the kernel updated.
    *batch = unsafe { attr.batch };
    match result {
        Ok(_) => Ok((batch.count, false)),
        Err(e) if e.errno() == libc::ENOENT => Ok((batch.count, true)),
        Err(e) => Err(e),
    }
}

/// `BPF_MAP_CREATE` attributes, all zero.
pub fn create_attr() -> CreateAttr {
    // SAFETY: plain data; all-zero is valid.
    unsafe { std::mem::zeroed() }
}

pub fn create(create: &CreateAttr) -> SysResult<OwnedFd> {
    let mut attr = zeroed_attr();
    attr.__bindgen_anon_1 = *create;
    // SAFETY: no pointers in the map-create attributes this crate sets.
    let fd = unsafe { bpf(bpf_cmd::BPF_MAP_CREATE, &mut attr) }?;
    Ok(owned_fd(fd))
}

/// `BPF_LINK_CREATE` of the struct_ops map `map` (made with `BPF_F_LINK`): registers it with
/// the kernel for as long as the link lives.
pub fn link_struct_ops(map: BorrowedFd<'_>) -> SysResult<OwnedFd> {
    let mut attr = zeroed_attr();
    // SAFETY: writing plain integers into the member this command uses.
    let link = unsafe { &mut attr.link_create };
    // The kernel takes the map's fd in place of a program's.
    link.__bindgen_anon_1.map_fd = map.as_raw_fd() as u32;
    link.attach_type = aya_obj::generated::bpf_attach_type::BPF_STRUCT_OPS as u32;
    // SAFETY: no pointers in these attributes.
    let fd = unsafe { bpf(bpf_cmd::BPF_LINK_CREATE, &mut attr) }?;
    Ok(owned_fd(fd))
}

pub fn map_fd_by_id(id: u32) -> SysResult<OwnedFd> {
    let mut attr = zeroed_attr();
    attr.__bindgen_anon_6.__bindgen_anon_1.map_id = id;
    // SAFETY: no pointers in these attributes.
    let fd = unsafe { bpf(bpf_cmd::BPF_MAP_GET_FD_BY_ID, &mut attr) }?;
    Ok(owned_fd(fd))
}

pub fn map_info(fd: BorrowedFd<'_>) -> SysResult<bpf_map_info> {
    // SAFETY: plain data; all-zero is valid.
    let mut info: bpf_map_info = unsafe { std::mem::zeroed() };
    super::obj_info(fd, &mut info)?;
    Ok(info)
}

#[cfg(test)]
mod tests {
    use std::{
        cell::RefCell,
        os::fd::BorrowedFd,
        rc::Rc,
    };

    use super::*;
    use crate::sys::fake::{errno, with_kernel};

    fn some_fd() -> BorrowedFd<'static> {
        // The fake kernel never looks at it.
        // SAFETY: fd 0 stays open for the whole test process.
        unsafe { BorrowedFd::borrow_raw(0) }
    }

    #[test]
    fn element_commands_put_their_arguments_where_the_kernel_reads_them() {
        let key = [1u8, 2, 3, 4];
        let mut value = [0u8; 8];
        let key_ptr = key.as_ptr() as u64;
        let value_ptr = value.as_mut_ptr() as u64;
        let fd = some_fd();
        let seen = Rc::new(RefCell::new(Vec::new()));
        let log = seen.clone();
        let found = with_kernel(
            move |cmd, attr| {
                // SAFETY: the member element commands use.
                let elem = unsafe { attr.__bindgen_anon_2 };
                log.borrow_mut().push((cmd, elem.map_fd, elem.key, unsafe { elem.__bindgen_anon_1.value }, elem.flags));
                Ok(0)
            },
            || lookup(fd, Some(&key), &mut value, 4),
        );
        assert!(found.unwrap());
        let raw_fd = fd.as_raw_fd() as u32;
        assert_eq!(seen.borrow().as_slice(), &[(bpf_cmd::BPF_MAP_LOOKUP_ELEM, raw_fd, key_ptr, value_ptr, 4)]);
    }

    #[test]
    fn a_missing_element_is_false_not_an_error() {
        let fd = some_fd();
        let mut value = [0u8; 4];
        with_kernel(|_, _| errno(libc::ENOENT), || {
            assert!(!lookup(fd, Some(&[0u8; 4]), &mut value, 0).unwrap());
            assert!(!delete(fd, &[0u8; 4]).unwrap());
            assert!(!next_key(fd, None, &mut value).unwrap());
            assert!(!lookup_and_delete(fd, None, &mut value).unwrap());
        });
        let err = with_kernel(|_, _| errno(libc::E2BIG), || update(fd, Some(&[0u8; 4]), &value, 0)).unwrap_err();
        assert_eq!((err.cmd, err.errno()), (bpf_cmd::BPF_MAP_UPDATE_ELEM, libc::E2BIG));
        assert_eq!(crate::sys::command_name(err.cmd), "BPF_MAP_UPDATE_ELEM");
    }

    #[test]
    fn a_batch_reports_the_count_the_kernel_wrote_back_also_at_the_end_of_the_map() {
        let fd = some_fd();
        let answer = |done: u32, result: std::io::Result<i64>| {
            move |cmd: bpf_cmd, attr: &mut bpf_attr| {
                assert_eq!(cmd, bpf_cmd::BPF_MAP_LOOKUP_BATCH);
                // SAFETY: the member batch commands use.
                let batch = unsafe { &mut attr.batch };
                assert_eq!(batch.count, 10, "the caller's count reaches the kernel");
                batch.count = done;
                result.as_ref().map(|r| *r).map_err(|e| std::io::Error::from_raw_os_error(e.raw_os_error().unwrap()))
            }
        };
        let mut attr = batch_attr(fd);
        attr.count = 10;
        assert_eq!(with_kernel(answer(10, Ok(0)), || batch(bpf_cmd::BPF_MAP_LOOKUP_BATCH, &mut attr)).unwrap(), (10, false));
        attr.count = 10;
        assert_eq!(with_kernel(answer(3, errno(libc::ENOENT)), || batch(bpf_cmd::BPF_MAP_LOOKUP_BATCH, &mut attr)).unwrap(), (3, true));
        assert_eq!(attr.count, 3);
        attr.count = 10;
        let err = with_kernel(answer(4, errno(libc::ENOSPC)), || batch(bpf_cmd::BPF_MAP_LOOKUP_BATCH, &mut attr)).unwrap_err();
        assert_eq!(err.errno(), libc::ENOSPC);
        assert_eq!(attr.count, 4, "what went before the error is known to the caller");
    }

    #[test]
    fn every_map_command_is_counted() {
        let before = syscall_count();
        let fd = some_fd();
        with_kernel(|_, _| Ok(0), || {
            update(fd, None, &[0u8; 4], 0).unwrap();
            delete(fd, &[0u8; 4]).unwrap();
        });
        // Other tests may run map commands on other threads meanwhile: at least ours.
        assert!(syscall_count() >= before + 2);
    }

    #[test]
    fn create_passes_the_map_definition() {
        let mut def = create_attr();
        def.map_type = 1;
        def.key_size = 4;
        def.value_size = 8;
        def.max_entries = 16;
        let fd = with_kernel(
            |cmd, attr| {
                assert_eq!(cmd, bpf_cmd::BPF_MAP_CREATE);
                // SAFETY: the member map creation uses.
                let create = unsafe { attr.__bindgen_anon_1 };
                assert_eq!((create.map_type, create.key_size, create.value_size, create.max_entries), (1, 4, 8, 16));
                // A real fd the OwnedFd can close.
                Ok(unsafe { libc::dup(0) } as i64)
            },
            || create(&def),
        );
        assert!(fd.unwrap().as_raw_fd() >= 0);
    }
}

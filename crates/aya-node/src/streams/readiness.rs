//! Waiting for a stream's fd on Node's own event loop (a libuv poll handle), so that an event
//! arriving while the consumer is idle costs one wake-up of the main thread and no thread hop.
//!
//! The tokio path (`Stream::read`) wakes a tokio worker, which then wakes the main thread to
//! settle a promise, and the next read goes back to a worker: three or four cross-thread
//! wake-ups per event, each tens of microseconds on a VM. Here libuv's epoll watches the fd,
//! and when it turns readable the JavaScript callback runs directly (through
//! `napi_make_callback`, so promises it settles run before control returns to libuv), and the
//! consumer takes the records with the synchronous `tryRead`.
//!
//! libuv and N-API are both exported by the `node` binary; addons may call them. The handle
//! watches a `dup` of the source's fd, so closing the stream (or dropping it) in any order
//! never leaves libuv polling a closed or reused fd number.
//!
//! A perf buffer's poll uses its readiness up: the kernel clears the flag on every poll, and
//! epoll polls twice, once when the fd is added and again when it reports it. So a record that
//! arrives between the consumer's last read and libuv's `epoll_ctl` (made at the loop's next
//! poll phase) is announced to nobody, and waits for the next record. For such sources the
//! handle also runs an idle handle for two loop turns after polling (re)starts, and the turn
//! after the `epoll_ctl` calls the armed callback once, so the consumer reads again.

use std::{
    ffi::{c_int, c_void},
    os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd},
    ptr,
};

use napi::sys;

use crate::error::{Code, NodeError, Result};

/// libuv's `uv_handle_type` values of an idle and a poll handle (stable across libuv 1.x).
const UV_IDLE: c_int = 6;
const UV_POLL: c_int = 8;
/// libuv's `UV_READABLE` poll event.
const UV_READABLE: c_int = 1;

type PollCallback = unsafe extern "C" fn(handle: *mut c_void, status: c_int, events: c_int);
type CloseCallback = unsafe extern "C" fn(handle: *mut c_void);
type IdleCallback = unsafe extern "C" fn(handle: *mut c_void);

/// The libuv functions used here, looked up in the running process (the `node` binary exports
/// them) rather than linked: linked, they would be undefined symbols in the crate's unit-test
/// binary, which has no Node and never calls them.
struct Uv {
    handle_size: unsafe extern "C" fn(kind: c_int) -> usize,
    poll_init: unsafe extern "C" fn(event_loop: *mut sys::uv_loop_s, handle: *mut c_void, fd: c_int) -> c_int,
    poll_start: unsafe extern "C" fn(handle: *mut c_void, events: c_int, callback: PollCallback) -> c_int,
    poll_stop: unsafe extern "C" fn(handle: *mut c_void) -> c_int,
    close: unsafe extern "C" fn(handle: *mut c_void, callback: CloseCallback),
    idle_init: unsafe extern "C" fn(event_loop: *mut sys::uv_loop_s, handle: *mut c_void) -> c_int,
    idle_start: unsafe extern "C" fn(handle: *mut c_void, callback: IdleCallback) -> c_int,
    idle_stop: unsafe extern "C" fn(handle: *mut c_void) -> c_int,
}

static UV: std::sync::OnceLock<Option<Uv>> = std::sync::OnceLock::new();

/// libuv's functions, or an error outside Node.
fn uv() -> Result<&'static Uv> {
    UV.get_or_init(|| {
        let find = |name: &std::ffi::CStr| {
            // SAFETY: dlsym with a NUL-terminated name; a null handle is glibc's RTLD_DEFAULT
            // (search the whole process), which the libc crate does not define for Linux.
            let found = unsafe { libc::dlsym(ptr::null_mut(), name.as_ptr()) };
            (!found.is_null()).then_some(found)
        };
        // SAFETY: each symbol is the libuv function of that name, whose C signature (libuv 1.x,
        // stable) is the field's type.
        unsafe {
            Some(Uv {
                handle_size: std::mem::transmute::<*mut c_void, _>(find(c"uv_handle_size")?),
                poll_init: std::mem::transmute::<*mut c_void, _>(find(c"uv_poll_init")?),
                poll_start: std::mem::transmute::<*mut c_void, _>(find(c"uv_poll_start")?),
                poll_stop: std::mem::transmute::<*mut c_void, _>(find(c"uv_poll_stop")?),
                close: std::mem::transmute::<*mut c_void, _>(find(c"uv_close")?),
                idle_init: std::mem::transmute::<*mut c_void, _>(find(c"uv_idle_init")?),
                idle_start: std::mem::transmute::<*mut c_void, _>(find(c"uv_idle_start")?),
                idle_stop: std::mem::transmute::<*mut c_void, _>(find(c"uv_idle_stop")?),
            })
        }
    })
    .as_ref()
    .ok_or_else(|| NodeError::new(Code::Kernel, "libuv's functions are not in this process (not running in Node.js)"))
}

/// The functions once loaded: every caller below runs after `Readiness::new` loaded them.
fn loaded() -> Option<&'static Uv> {
    UV.get().and_then(Option::as_ref)
}

unsafe fn uv_handle_size(kind: c_int) -> usize {
    loaded().map_or(0, |uv| (uv.handle_size)(kind))
}

unsafe fn uv_poll_init(event_loop: *mut sys::uv_loop_s, handle: *mut c_void, fd: c_int) -> c_int {
    loaded().map_or(-libc::ENOSYS, |uv| (uv.poll_init)(event_loop, handle, fd))
}

unsafe fn uv_poll_start(handle: *mut c_void, events: c_int, callback: PollCallback) -> c_int {
    loaded().map_or(-libc::ENOSYS, |uv| (uv.poll_start)(handle, events, callback))
}

unsafe fn uv_poll_stop(handle: *mut c_void) -> c_int {
    loaded().map_or(-libc::ENOSYS, |uv| (uv.poll_stop)(handle))
}

unsafe fn uv_idle_init(event_loop: *mut sys::uv_loop_s, handle: *mut c_void) -> c_int {
    loaded().map_or(-libc::ENOSYS, |uv| (uv.idle_init)(event_loop, handle))
}

unsafe fn uv_idle_start(handle: *mut c_void, callback: IdleCallback) -> c_int {
    loaded().map_or(-libc::ENOSYS, |uv| (uv.idle_start)(handle, callback))
}

unsafe fn uv_idle_stop(handle: *mut c_void) -> c_int {
    loaded().map_or(-libc::ENOSYS, |uv| (uv.idle_stop)(handle))
}

unsafe fn uv_close(handle: *mut c_void, callback: CloseCallback) {
    if let Some(uv) = loaded() {
        (uv.close)(handle, callback);
    }
}

/// What the poll callback needs; `uv_handle_t.data` (the handle's first field) points here.
struct Waiter {
    env: sys::napi_env,
    context: sys::napi_async_context,
    /// The callback of the current `arm`, dropped when it runs (so an idle stream holds no
    /// strong reference to JavaScript and can be collected).
    callback: sys::napi_ref,
    /// libuv is polling the fd. Polling stays on after a callback, so a consumer that re-arms
    /// from it costs no `epoll_ctl`; it stops when the fd is readable and nobody is waiting.
    polling: bool,
    /// The watched duplicate; closed as soon as libuv stopped polling it.
    fd: Option<OwnedFd>,
    /// The idle handle of a source whose poll uses its readiness up (see the top); null otherwise.
    idle: *mut c_void,
    /// Loop turns the idle handle still waits before it calls the armed callback.
    settle: u8,
}

/// A libuv poll handle over one stream's fd. Lives on the JavaScript thread that made it.
pub struct Readiness {
    /// Memory libuv owns between `uv_poll_init` and the close callback, which frees it.
    handle: *mut c_void,
}

// The handle is only touched from the thread that made it (napi classes are not shared
// across threads); these let it sit in a napi class next to `Send` members.
unsafe impl Send for Readiness {}
unsafe impl Sync for Readiness {}

fn check(status: sys::napi_status, what: &str) -> Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(NodeError::new(Code::Kernel, format!("{what} failed (napi status {status})")))
    }
}

fn uv_check(code: c_int, what: &'static str) -> Result<()> {
    if code == 0 {
        Ok(())
    } else {
        Err(NodeError::syscall(what, std::io::Error::from_raw_os_error(-code)))
    }
}

impl Readiness {
    /// A stopped poll handle over a duplicate of `fd`, on `env`'s event loop. `poll_uses_up`:
    /// the fd's poll clears its readiness (perf buffers; see the top).
    pub fn new(env: sys::napi_env, fd: RawFd, poll_uses_up: bool) -> Result<Self> {
        uv()?;
        // SAFETY: dup of a valid fd the caller owns; the result is owned by `Waiter`.
        let dup = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
        if dup < 0 {
            return Err(NodeError::syscall("fcntl", std::io::Error::last_os_error()));
        }
        let fd = unsafe { OwnedFd::from_raw_fd(dup) };
        let mut event_loop = ptr::null_mut();
        check(unsafe { sys::napi_get_uv_event_loop(env, &mut event_loop) }, "napi_get_uv_event_loop")?;
        let mut context = ptr::null_mut();
        let mut name = ptr::null_mut();
        let label = "aya-node:stream";
        check(unsafe { sys::napi_create_string_utf8(env, label.as_ptr().cast(), label.len() as isize, &mut name) }, "napi_create_string_utf8")?;
        check(unsafe { sys::napi_async_init(env, ptr::null_mut(), name, &mut context) }, "napi_async_init")?;
        let handle = alloc_handle(UV_POLL);
        let raw_fd = fd.as_raw_fd();
        let waiter = Box::into_raw(Box::new(Waiter {
            env,
            context,
            callback: ptr::null_mut(),
            polling: false,
            fd: Some(fd),
            idle: ptr::null_mut(),
            settle: 0,
        }));
        // SAFETY: `handle` is zeroed memory of the size libuv asked for; `data` is its first field.
        unsafe { *handle.cast::<*mut Waiter>() = waiter };
        if let Err(err) = uv_check(unsafe { uv_poll_init(event_loop, handle, raw_fd) }, "uv_poll_init") {
            // Never handed to libuv: free both here.
            unsafe {
                drop(Box::from_raw(waiter));
                free_handle(handle, UV_POLL);
                sys::napi_async_destroy(env, context);
            }
            return Err(err);
        }
        let readiness = Self { handle };
        if poll_uses_up {
            let idle = alloc_handle(UV_IDLE);
            unsafe { *idle.cast::<*mut Waiter>() = waiter };
            // On failure `readiness` drops, closing the poll handle (the idle one is not set).
            if let Err(err) = uv_check(unsafe { uv_idle_init(event_loop, idle) }, "uv_idle_init") {
                unsafe { free_handle(idle, UV_IDLE) };
                return Err(err);
            }
            unsafe { (*waiter).idle = idle };
        }
        Ok(readiness)
    }

    /// Calls `callback` once, on the JavaScript thread, when the fd turns readable (at once
    /// if it already is). A second `arm` before that replaces the callback.
    pub fn arm(&self, callback: sys::napi_value) -> Result<()> {
        let waiter = unsafe { &mut *self.waiter() };
        let mut reference = ptr::null_mut();
        check(unsafe { sys::napi_create_reference(waiter.env, callback, 1, &mut reference) }, "napi_create_reference")?;
        release(waiter);
        waiter.callback = reference;
        if !waiter.polling {
            uv_check(unsafe { uv_poll_start(self.handle, UV_READABLE, on_poll) }, "uv_poll_start")?;
            waiter.polling = true;
            if !waiter.idle.is_null() {
                waiter.settle = 2;
                uv_check(unsafe { uv_idle_start(waiter.idle, on_idle) }, "uv_idle_start")?;
            }
        }
        Ok(())
    }

    /// Stops waiting; the armed callback (if any) will not run.
    pub fn disarm(&self) {
        unsafe {
            uv_poll_stop(self.handle);
            let waiter = &mut *self.waiter();
            waiter.polling = false;
            if !waiter.idle.is_null() {
                uv_idle_stop(waiter.idle);
            }
            release(waiter);
        }
    }

    fn waiter(&self) -> *mut Waiter {
        unsafe { *self.handle.cast::<*mut Waiter>() }
    }
}

impl Drop for Readiness {
    fn drop(&mut self) {
        self.disarm();
        // libuv frees nothing itself: the close callback frees the handle and the waiter.
        // Stopping took the fd out of libuv's epoll at once, so it can close now (nothing
        // of a closed stream stays open until the next loop iteration).
        unsafe {
            let waiter = &mut *self.waiter();
            if !waiter.idle.is_null() {
                uv_close(std::mem::replace(&mut waiter.idle, ptr::null_mut()), on_idle_close);
            }
            uv_close(self.handle, on_close);
            waiter.fd = None;
        }
    }
}

/// Drops the armed callback's reference, if any.
fn release(waiter: &mut Waiter) {
    if !waiter.callback.is_null() {
        unsafe { sys::napi_delete_reference(waiter.env, waiter.callback) };
        waiter.callback = ptr::null_mut();
    }
}

/// Zeroed memory for a libuv handle of `kind`, in u64 words (libuv handles want pointer alignment).
fn alloc_handle(kind: c_int) -> *mut c_void {
    let words = unsafe { uv_handle_size(kind) }.div_ceil(8);
    Box::into_raw(vec![0u64; words].into_boxed_slice()).cast::<c_void>()
}

unsafe fn free_handle(handle: *mut c_void, kind: c_int) {
    let words = uv_handle_size(kind).div_ceil(8);
    drop(Box::from_raw(ptr::slice_from_raw_parts_mut(handle.cast::<u64>(), words)));
}

unsafe extern "C" fn on_idle_close(handle: *mut c_void) {
    free_handle(handle, UV_IDLE);
}

/// One loop turn of the idle handle; the second comes after libuv's `epoll_ctl` for the fd.
unsafe extern "C" fn on_idle(handle: *mut c_void) {
    let waiter = &mut **handle.cast::<*mut Waiter>();
    waiter.settle = waiter.settle.saturating_sub(1);
    if waiter.settle == 0 {
        uv_idle_stop(handle);
        fire(waiter);
    }
}

unsafe extern "C" fn on_close(handle: *mut c_void) {
    let waiter = Box::from_raw(*handle.cast::<*mut Waiter>());
    sys::napi_async_destroy(waiter.env, waiter.context);
    drop(waiter);
    free_handle(handle, UV_POLL);
}

/// libuv saw the fd readable (or an error, which the consumer's `tryRead` then reports): run
/// the armed callback (once per `arm`) in a callback scope, or stop polling if none is armed.
unsafe extern "C" fn on_poll(handle: *mut c_void, _status: c_int, _events: c_int) {
    let waiter = &mut **handle.cast::<*mut Waiter>();
    if waiter.callback.is_null() {
        uv_poll_stop(handle);
        waiter.polling = false;
        return;
    }
    fire(waiter);
}

/// Runs the armed callback, if any, once.
unsafe fn fire(waiter: &mut Waiter) {
    let reference = std::mem::replace(&mut waiter.callback, ptr::null_mut());
    if reference.is_null() {
        return;
    }
    let env = waiter.env;
    let mut scope = ptr::null_mut();
    if sys::napi_open_handle_scope(env, &mut scope) != sys::Status::napi_ok {
        sys::napi_delete_reference(env, reference);
        return;
    }
    let mut callback = ptr::null_mut();
    sys::napi_get_reference_value(env, reference, &mut callback);
    sys::napi_delete_reference(env, reference);
    if !callback.is_null() {
        let mut result = ptr::null_mut();
        // napi_make_callback wants an object as `this`: the function itself is one, at hand
        // (napi_get_global costs a context lookup per wake-up).
        let status = sys::napi_make_callback(env, waiter.context, callback, callback, 0, ptr::null(), &mut result);
        if status == sys::Status::napi_pending_exception {
            // As any other callback's exception: to process 'uncaughtException'.
            let mut error = ptr::null_mut();
            sys::napi_get_and_clear_last_exception(env, &mut error);
            sys::napi_fatal_exception(env, error);
        }
    }
    sys::napi_close_handle_scope(env, scope);
}

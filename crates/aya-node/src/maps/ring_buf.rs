//! `BPF_MAP_TYPE_RINGBUF` consumer.
//!
//! The ring's fd is registered with tokio (`AsyncFd`), so a pending `read()` costs nothing
//! until the kernel signals data. Each `read()` drains up to `max_events` records into one
//! buffer: one N-API crossing per batch, not per event. Batch layout, per record:
//! `u32 length (LE) | u32 zero | bytes | zero padding to 8` (decoded by `src/ring-buf.ts`).

use std::sync::{
    atomic::{AtomicBool, AtomicU64, Ordering},
    Arc,
};

use aya::maps::{MapData, RingBuf};
use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use tokio::{io::unix::AsyncFd, sync::Notify};

use crate::{
    error::{AyaContext, Code, NodeError},
    object::{lock, EbpfObject},
};

enum Ring {
    /// Not yet registered with the reactor: that needs the runtime, which `read()` runs on.
    Idle(RingBuf<MapData>),
    Polled(AsyncFd<RingBuf<MapData>>),
    Closed,
}

struct Shared {
    ring: tokio::sync::Mutex<Ring>,
    wake: Notify,
    closed: AtomicBool,
    /// Reads with an id at or below this are cancelled (ids come from the caller, increasing).
    cancelled_through: AtomicU64,
}

#[napi]
pub struct RingBufReader {
    shared: Arc<Shared>,
}

/// Appends up to `max_events` records to `out`; returns how many.
pub fn drain(ring: &mut RingBuf<MapData>, max_events: u32, out: &mut Vec<u8>) -> u32 {
    let mut count = 0;
    while count < max_events {
        let Some(item) = ring.next() else { break };
        let len = item.len();
        out.extend_from_slice(&(len as u32).to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&item);
        out.resize(out.len() + (8 - len % 8) % 8, 0);
        count += 1;
    }
    count
}

#[napi]
impl EbpfObject {
    /// Takes the ring buffer map `name` out of the object into a reader.
    #[napi]
    pub fn take_ring_buf(&self, name: String) -> napi::Result<RingBufReader> {
        let map = lock(&self.state).take_map(&name)?;
        let ring = RingBuf::try_from(map).context(|| format!("opening `{name}` as a ring buffer"))?;
        Ok(RingBufReader {
            shared: Arc::new(Shared {
                ring: tokio::sync::Mutex::new(Ring::Idle(ring)),
                wake: Notify::new(),
                closed: AtomicBool::new(false),
                cancelled_through: AtomicU64::new(0),
            }),
        })
    }
}

#[napi]
impl RingBufReader {
    /// Waits until at least one record is available, then returns up to `maxEvents` of them in
    /// one buffer. Resolves to `null` when the reader is closed or `cancel(readId)` is called.
    #[napi]
    pub async fn read(&self, max_events: u32, read_id: i64) -> napi::Result<Option<Buffer>> {
        let shared = self.shared.clone();
        let read_id = read_id.max(0) as u64;
        let mut ring = shared
            .ring
            .try_lock()
            .map_err(|_| NodeError::new(Code::Busy, "this ring buffer already has a pending read (one consumer at a time)"))?;
        let max_events = max_events.max(1);
        let mut out = Vec::new();
        loop {
            let wake = shared.wake.notified();
            tokio::pin!(wake);
            wake.as_mut().enable();
            if shared.closed.load(Ordering::Acquire) {
                *ring = Ring::Closed;
                return Ok(None);
            }
            if shared.cancelled_through.load(Ordering::Acquire) >= read_id {
                return Ok(None);
            }
            if let Ring::Idle(_) = &*ring {
                *ring = match std::mem::replace(&mut *ring, Ring::Closed) {
                    // SAFETY: the AsyncFd owns the RingBuf, which owns the fd, so the fd stays
                    // open for as long as it is registered.
                    Ring::Idle(idle) => Ring::Polled(
                        unsafe { AsyncFd::register(idle) }
                            .map_err(|e| NodeError::syscall("epoll_ctl", std::io::Error::from(e)))?,
                    ),
                    other => other,
                };
            }
            let Ring::Polled(fd) = &mut *ring else { return Ok(None) };
            if drain(fd.get_mut(), max_events, &mut out) > 0 {
                return Ok(Some(out.into()));
            }
            tokio::select! {
                ready = fd.readable_mut() => {
                    ready.map_err(|e| NodeError::syscall("epoll_wait", e))?.clear_ready();
                }
                _ = &mut wake => {}
            }
        }
    }

    /// Makes a pending `read` with this id (or any lower one) resolve to `null`.
    #[napi]
    pub fn cancel(&self, read_id: i64) {
        self.shared.cancelled_through.fetch_max(read_id.max(0) as u64, Ordering::AcqRel);
        self.shared.wake.notify_waiters();
    }

    /// Closes the ring buffer's fd (now, or as soon as a pending read returns).
    #[napi]
    pub fn close(&self) {
        self.shared.closed.store(true, Ordering::Release);
        self.shared.wake.notify_waiters();
        if let Ok(mut ring) = self.shared.ring.try_lock() {
            *ring = Ring::Closed;
        }
    }

    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.shared.closed.load(Ordering::Acquire)
    }
}

//! Asynchronous readers for kernel event sources (ring buffers, perf buffers, aya-log records,
//! the trace pipe).
//!
//! A source's fd is registered with tokio (`AsyncFd`), so a pending read costs nothing until
//! the kernel signals data. Each read drains up to `max_events` records into one [`Batch`]:
//! one N-API crossing per batch, not per event. Batch layout, per record:
//! `u32 length (LE) | u32 tag (LE) | bytes | zero padding to 8` (split by `src/stream.ts`);
//! the tag is source-specific (the CPU for perf buffers, the level for log records, else 0).

use std::{
    io,
    os::fd::AsRawFd,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use tokio::{io::unix::AsyncFd, sync::Notify, time::Instant};

use crate::error::{Code, NodeError, Result};

/// Records drained from a source, in the layout above.
#[derive(Default)]
pub struct Batch {
    pub data: Vec<u8>,
    pub count: u32,
    /// Records the kernel reported as lost since the previous batch.
    pub lost: u64,
}

impl Batch {
    pub fn push(&mut self, tag: u32, parts: &[&[u8]]) {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        self.data.extend_from_slice(&(len as u32).to_le_bytes());
        self.data.extend_from_slice(&tag.to_le_bytes());
        for part in parts {
            self.data.extend_from_slice(part);
        }
        self.data.resize(self.data.len() + (8 - len % 8) % 8, 0);
        self.count += 1;
    }
}

/// What a batch looks like on the JavaScript side.
#[napi(object)]
pub struct StreamBatch {
    pub data: Buffer,
    pub count: u32,
    pub lost: f64,
}

/// A kernel event source whose fd becomes readable when records are waiting.
pub trait Source: AsRawFd + Send + 'static {
    /// Moves up to `max` waiting records into `batch`, returning how many it moved.
    fn drain(&mut self, batch: &mut Batch, max: u32) -> Result<u32>;
}

/// When a read may return.
#[derive(Clone, Copy)]
pub struct ReadPolicy {
    /// Most records in one batch.
    pub max_events: u32,
    /// Wait for at least this many records ...
    pub min_events: u32,
    /// ... but no longer than this after the first one arrived.
    pub linger: Duration,
}

enum State<S: AsRawFd> {
    /// Not yet registered with the reactor: that needs the runtime, which `read()` runs on.
    Idle(S),
    Polled(AsyncFd<S>),
    Closed,
}

struct Shared<S: AsRawFd> {
    state: tokio::sync::Mutex<State<S>>,
    wake: Notify,
    closed: AtomicBool,
    /// Reads with an id at or below this are cancelled (ids come from the caller, increasing).
    cancelled_through: AtomicU64,
}

pub struct Stream<S: Source> {
    shared: Arc<Shared<S>>,
    what: &'static str,
}

impl<S: Source> Stream<S> {
    pub fn new(source: S, what: &'static str) -> Self {
        Self {
            shared: Arc::new(Shared {
                state: tokio::sync::Mutex::new(State::Idle(source)),
                wake: Notify::new(),
                closed: AtomicBool::new(false),
                cancelled_through: AtomicU64::new(0),
            }),
            what,
        }
    }

    /// Waits for records and returns a batch; `None` once closed or when `read_id` is cancelled.
    pub async fn read(&self, policy: ReadPolicy, read_id: u64) -> Result<Option<Batch>> {
        let shared = self.shared.clone();
        let mut state = shared.state.try_lock().map_err(|_| {
            NodeError::new(Code::Busy, format!("this {} already has a pending read (one consumer at a time)", self.what))
        })?;
        let max = policy.max_events.max(1);
        let min = policy.min_events.clamp(1, max);
        let mut batch = Batch::default();
        let mut deadline: Option<Instant> = None;
        loop {
            let wake = shared.wake.notified();
            tokio::pin!(wake);
            wake.as_mut().enable();
            if shared.closed.load(Ordering::Acquire) {
                *state = State::Closed;
                return Ok(None);
            }
            if shared.cancelled_through.load(Ordering::Acquire) >= read_id {
                return Ok(if batch.count > 0 { Some(batch) } else { None });
            }
            if let State::Idle(_) = &*state {
                *state = match std::mem::replace(&mut *state, State::Closed) {
                    // SAFETY: the AsyncFd owns the source, which owns the fd, so the fd stays
                    // open for as long as it is registered.
                    State::Idle(source) => State::Polled(
                        unsafe { AsyncFd::register(source) }
                            .map_err(|e| NodeError::syscall("epoll_ctl", io::Error::from(e)))?,
                    ),
                    other => other,
                };
            }
            let State::Polled(fd) = &mut *state else { return Ok(None) };
            let room = max - batch.count;
            fd.get_mut().drain(&mut batch, room)?;
            if batch.count >= min || (batch.count > 0 && deadline.is_some_and(|d| Instant::now() >= d)) {
                return Ok(Some(batch));
            }
            if batch.count > 0 && deadline.is_none() {
                deadline = Some(Instant::now() + policy.linger);
            }
            let linger = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                ready = fd.readable_mut() => {
                    ready.map_err(|e| NodeError::syscall("epoll_wait", e))?.clear_ready();
                }
                _ = &mut wake => {}
                _ = linger => {}
            }
        }
    }

    /// Makes a pending read with this id (or any lower one) return.
    pub fn cancel(&self, read_id: u64) {
        self.shared.cancelled_through.fetch_max(read_id, Ordering::AcqRel);
        self.shared.wake.notify_waiters();
    }

    /// Closes the source's fd (now, or as soon as a pending read returns).
    pub fn close(&self) {
        self.shared.closed.store(true, Ordering::Release);
        self.shared.wake.notify_waiters();
        if let Ok(mut state) = self.shared.state.try_lock() {
            *state = State::Closed;
        }
    }

    pub fn closed(&self) -> bool {
        self.shared.closed.load(Ordering::Acquire)
    }
}

/// Options of a read, as JavaScript passes them.
#[napi(object)]
pub struct ReadOptions {
    /// Caller-chosen increasing id, so `cancel(id)` can target this read.
    pub read_id: i64,
    pub max_events: u32,
    pub min_events: Option<u32>,
    /// Milliseconds to wait for `minEvents` after the first record arrived.
    pub linger_ms: Option<u32>,
}

impl ReadOptions {
    pub fn policy(&self) -> ReadPolicy {
        ReadPolicy {
            max_events: self.max_events,
            min_events: self.min_events.unwrap_or(1),
            linger: Duration::from_millis(u64::from(self.linger_ms.unwrap_or(10))),
        }
    }
}

pub fn to_js(batch: Option<Batch>) -> Option<StreamBatch> {
    batch.map(|b| StreamBatch { data: b.data.into(), count: b.count, lost: b.lost as f64 })
}

/// The napi methods every reader class has, delegating to its `stream` field.
/// (napi classes cannot be generic, so each reader is a small concrete class.)
macro_rules! reader_methods {
    ($reader:ident) => {
        #[napi_derive::napi]
        impl $reader {
            /// Waits for records; resolves to `null` once closed or cancelled.
            #[napi]
            pub async fn read(&self, options: $crate::stream::ReadOptions) -> napi::Result<Option<$crate::stream::StreamBatch>> {
                let batch = self.stream.read(options.policy(), options.read_id.max(0) as u64).await?;
                Ok($crate::stream::to_js(batch))
            }

            /// Makes a pending `read` with this id (or a lower one) resolve.
            #[napi]
            pub fn cancel(&self, read_id: i64) {
                self.stream.cancel(read_id.max(0) as u64);
            }

            /// Closes the fd (now, or as soon as a pending read returns).
            #[napi]
            pub fn close(&self) {
                self.stream.close();
            }

            #[napi(getter)]
            pub fn closed(&self) -> bool {
                self.stream.closed()
            }
        }
    };
}
pub(crate) use reader_methods;

//! Asynchronous readers for kernel event sources (ring buffers, perf buffers, aya-log records,
//! the trace pipe).
//!
//! A consumer without a minimum batch waits for the fd on Node's own event loop (`arm`, see
//! readiness.rs) and takes records with `try_read`; a read with a minimum batch waits through
//! tokio (`AsyncFd`). Either way a pending read costs nothing until the kernel signals data. Each read drains up to `max_events` records into one [`Batch`]
//! written straight into a buffer the caller owns and reuses (no allocation, no page faults
//! per batch): one N-API crossing per batch, not per event. Batch layout, per record:
//! `u32 length (LE) | u32 tag (LE) | bytes | zero padding to 8` (split by `src/streams/stream.ts`);
//! the tag is source-specific (the CPU for perf buffers, the level for log records; ring
//! buffers leave the kernel's own header word there).

use std::{
    io,
    os::fd::AsRawFd,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use napi_derive::napi;
use tokio::{io::unix::AsyncFd, sync::Notify, time::Instant};

use crate::error::{Code, NodeError, Result};
use readiness::Readiness;

#[cfg(feature = "bench")]
pub mod bench;
pub mod logs;
pub mod perf_event_array;
mod readiness;
pub mod ring_buf;
pub mod trace_pipe;

const HEADER: usize = 8;

/// The kernel's name of a loaded map's type (asked of the kernel), for a wrong-type error.
pub fn map_kind(map: &aya::maps::Map) -> String {
    crate::sys::map::map_info(std::os::fd::AsFd::as_fd(crate::kinds::map_data(map).fd()))
        .map_or_else(|_| "unknown".to_string(), |info| crate::kinds::map_type_name(info.type_))
}

/// Bytes a record of `len` bytes takes in a batch.
pub const fn record_size(len: usize) -> usize {
    HEADER + ((len + 7) & !7)
}

/// Records a source produced that did not fit the caller's buffer (sources that cannot put a
/// record back, like perf buffers); the next read delivers them first.
#[derive(Default)]
pub struct Overflow {
    data: Vec<u8>,
}

/// Records drained from a source into the caller's buffer, in the layout above.
pub struct Batch<'a> {
    out: &'a mut [u8],
    len: usize,
    /// Records in `out`.
    count: u32,
    /// Records pushed in this read, delivered or overflowed (what a source counts against `max`).
    pub pushed: u32,
    /// Records the kernel reported as lost since the previous batch.
    pub lost: u64,
    /// The source stopped because the next record does not fit in what is left of `out`.
    pub full: bool,
    /// Set when not even one record fits in an empty `out`: the caller needs this many bytes.
    pub need_bytes: usize,
    overflow: &'a mut Overflow,
}

impl<'a> Batch<'a> {
    pub fn new(out: &'a mut [u8], overflow: &'a mut Overflow) -> Self {
        let mut batch = Self { out, len: 0, count: 0, pushed: 0, lost: 0, full: false, need_bytes: 0, overflow };
        batch.take_overflow();
        batch
    }

    /// Moves records left over from the previous read into `out`, as many as fit.
    fn take_overflow(&mut self) {
        let mut taken = 0;
        while taken + HEADER <= self.overflow.data.len() {
            let len = u32::from_le_bytes(self.overflow.data[taken..taken + 4].try_into().unwrap_or_default()) as usize;
            let size = record_size(len);
            if size > self.room() {
                self.full = true;
                if self.len == 0 {
                    self.need_bytes = size;
                }
                break;
            }
            self.out[self.len..self.len + size].copy_from_slice(&self.overflow.data[taken..taken + size]);
            self.len += size;
            self.count += 1;
            taken += size;
        }
        self.overflow.data.drain(..taken);
    }

    /// Bytes still free in the caller's buffer.
    pub fn room(&self) -> usize {
        self.out.len() - self.len
    }

    pub fn count(&self) -> u32 {
        self.count
    }

    /// The records delivered so far, in batch layout (the benchmarks' native consumer).
    #[cfg(any(test, feature = "bench"))]
    pub fn data(&self) -> &[u8] {
        &self.out[..self.len]
    }

    /// Appends one record made of `parts`; past the end of `out` it waits in the overflow.
    pub fn push(&mut self, tag: u32, parts: &[&[u8]]) {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let size = record_size(len);
        self.pushed += 1;
        let target: &mut [u8] = if self.overflow.data.is_empty() && size <= self.room() {
            self.count += 1;
            self.len += size;
            &mut self.out[self.len - size..self.len]
        } else {
            self.full = true;
            let at = self.overflow.data.len();
            self.overflow.data.resize(at + size, 0);
            &mut self.overflow.data[at..]
        };
        target[..4].copy_from_slice(&(len as u32).to_le_bytes());
        target[4..8].copy_from_slice(&tag.to_le_bytes());
        let mut at = HEADER;
        for part in parts {
            target[at..at + part.len()].copy_from_slice(part);
            at += part.len();
        }
        target[at..].fill(0);
    }

    /// Appends `records` records already in batch layout (the caller checked `room()`).
    pub fn push_laid_out(&mut self, bytes: &[u8], records: u32) {
        self.out[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
        self.count += records;
        self.pushed += records;
    }

    fn result(&self) -> ReadResult {
        ReadResult { count: self.count, bytes: self.len as u32, lost: self.lost as f64, need_bytes: self.need_bytes as u32 }
    }
}

/// What a read put in the caller's buffer.
#[napi(object)]
pub struct ReadResult {
    /// Records in the buffer.
    pub count: u32,
    /// Bytes of the buffer they fill.
    pub bytes: u32,
    /// Records the kernel reported lost since the previous read.
    pub lost: f64,
    /// Non-zero when the next record needs a buffer of this many bytes (none was delivered).
    pub need_bytes: u32,
}

/// A kernel event source whose fd becomes readable when records are waiting.
pub trait Source: AsRawFd + Send + 'static {
    /// Polling the fd clears its readiness (perf buffers): see readiness.rs.
    const POLL_USES_UP_READINESS: bool = false;

    /// A drain that stopped with nothing left to take (not for lack of room) may arm the wait
    /// in the same call: the next record is sure to wake the fd. True of a ring buffer, whose
    /// producer wakes the consumer when it commits at the consumer's position, which the
    /// drain re-checks after handing space back.
    const ARM_WHEN_DRAINED: bool = false;

    /// Moves up to `max` waiting records into `batch` (fewer when it is `full`).
    fn drain(&mut self, batch: &mut Batch<'_>, max: u32) -> Result<()>;
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

/// The fd of a source that is still open.
fn state_fd<S: AsRawFd>(state: &State<S>) -> Option<std::os::fd::RawFd> {
    match state {
        State::Idle(source) => Some(source.as_raw_fd()),
        State::Polled(fd) => Some(fd.get_ref().as_raw_fd()),
        State::Closed => None,
    }
}

impl<S: AsRawFd> State<S> {
    /// The source, registered with the reactor or not; `None` once closed.
    fn source(&mut self) -> Option<&mut S> {
        match self {
            State::Idle(source) => Some(source),
            State::Polled(fd) => Some(fd.get_mut()),
            State::Closed => None,
        }
    }
}

struct Inner<S: AsRawFd> {
    state: State<S>,
    overflow: Overflow,
}

struct Shared<S: AsRawFd> {
    inner: tokio::sync::Mutex<Inner<S>>,
    wake: Notify,
    closed: AtomicBool,
    /// Reads with an id at or below this are cancelled (ids come from the caller, increasing).
    cancelled_through: AtomicU64,
}

pub struct Stream<S: Source> {
    shared: Arc<Shared<S>>,
    what: &'static str,
    /// The libuv poll handle of `arm`, made on first use (see readiness.rs).
    readiness: std::sync::Mutex<Option<Readiness>>,
}

impl<S: Source> Stream<S> {
    pub fn new(source: S, what: &'static str) -> Self {
        Self {
            shared: Arc::new(Shared {
                inner: tokio::sync::Mutex::new(Inner { state: State::Idle(source), overflow: Overflow::default() }),
                wake: Notify::new(),
                closed: AtomicBool::new(false),
                cancelled_through: AtomicU64::new(0),
            }),
            what,
            readiness: std::sync::Mutex::new(None),
        }
    }

    /// Calls `callback` on the JavaScript thread once the source has records (the consumer
    /// then takes them with `try_read`); `false` once closed. One wake-up, no thread hop.
    pub fn arm(&self, env: napi::sys::napi_env, callback: napi::sys::napi_value) -> Result<bool> {
        if self.closed() {
            return Ok(false);
        }
        let mut readiness = self.readiness.lock().map_err(|_| NodeError::new(Code::Busy, format!("this {} is being closed", self.what)))?;
        if readiness.is_none() {
            let inner = self.shared.inner.try_lock().map_err(|_| {
                NodeError::new(Code::Busy, format!("this {} already has a pending read (one consumer at a time)", self.what))
            })?;
            let Some(fd) = state_fd(&inner.state) else { return Ok(false) };
            *readiness = Some(Readiness::new(env, fd, S::POLL_USES_UP_READINESS)?);
        }
        match readiness.as_ref() {
            Some(r) => r.arm(callback).map(|()| true),
            None => Ok(false),
        }
    }

    /// Undoes `arm`: its callback will not run.
    pub fn disarm(&self) {
        if let Ok(readiness) = self.readiness.lock() {
            if let Some(r) = readiness.as_ref() {
                r.disarm();
            }
        }
    }

    /// Waits for records and writes them into `out`; `None` once closed, or when `read_id`
    /// is cancelled before any record arrived.
    pub async fn read(&self, out: &mut [u8], policy: ReadPolicy, read_id: u64) -> Result<Option<ReadResult>> {
        let shared = self.shared.clone();
        let mut inner = shared.inner.try_lock().map_err(|_| {
            NodeError::new(Code::Busy, format!("this {} already has a pending read (one consumer at a time)", self.what))
        })?;
        let Inner { state, overflow } = &mut *inner;
        let max = policy.max_events.max(1);
        let min = policy.min_events.clamp(1, max);
        let mut batch = Batch::new(out, overflow);
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
                return Ok((batch.count() > 0).then(|| batch.result()));
            }
            if let State::Idle(_) = state {
                *state = match std::mem::replace(state, State::Closed) {
                    // SAFETY: the AsyncFd owns the source, which owns the fd, so the fd stays
                    // open for as long as it is registered.
                    State::Idle(source) => State::Polled(
                        unsafe { AsyncFd::register(source) }
                            .map_err(|e| NodeError::syscall("epoll_ctl", io::Error::from(e)))?,
                    ),
                    other => other,
                };
            }
            let State::Polled(fd) = state else { return Ok(None) };
            if !batch.full {
                let left = max.saturating_sub(batch.pushed);
                fd.get_mut().drain(&mut batch, left)?;
            }
            let count = batch.count();
            if count >= min || batch.full || (count > 0 && deadline.is_some_and(|d| Instant::now() >= d)) {
                return Ok(Some(batch.result()));
            }
            if count > 0 && deadline.is_none() {
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

    /// Writes what is waiting right now into `out`, without waiting: `None` when nothing is
    /// (then the caller awaits `read`), else the result and whether records were left behind
    /// (`out` or `max_events` used up). The fast path of a consumer that is behind: no thread
    /// hop per batch. A pending read also gives `None`.
    pub fn try_read(&self, out: &mut [u8], max_events: u32) -> Result<Option<(ReadResult, bool)>> {
        if self.shared.closed.load(Ordering::Acquire) {
            return Ok(None);
        }
        let Ok(mut inner) = self.shared.inner.try_lock() else { return Ok(None) };
        let Inner { state, overflow } = &mut *inner;
        let Some(source) = state.source() else { return Ok(None) };
        let mut batch = Batch::new(out, overflow);
        if !batch.full {
            let left = max_events.max(1).saturating_sub(batch.pushed);
            source.drain(&mut batch, left)?;
        }
        let full = batch.full || batch.pushed >= max_events.max(1);
        Ok((batch.count() > 0 || batch.lost > 0 || batch.need_bytes > 0).then(|| (batch.result(), full)))
    }

    /// See `Source::ARM_WHEN_DRAINED`.
    pub fn arms_when_drained(&self) -> bool {
        S::ARM_WHEN_DRAINED
    }

    /// Runs `f` on the source itself, synchronously (the benchmarks' native consumer).
    #[cfg(feature = "bench")]
    pub fn with_source<R>(&self, f: impl FnOnce(&mut S) -> R) -> Result<R> {
        let mut inner = self.shared.inner.try_lock().map_err(|_| {
            NodeError::new(Code::Busy, format!("this {} has a pending read", self.what))
        })?;
        match inner.state.source() {
            Some(source) => Ok(f(source)),
            None => Err(NodeError::new(Code::Closed, format!("this {} is closed", self.what))),
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
        if let Ok(mut readiness) = self.readiness.lock() {
            readiness.take();
        }
        self.shared.wake.notify_waiters();
        if let Ok(mut inner) = self.shared.inner.try_lock() {
            inner.state = State::Closed;
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

/// The napi methods every reader class has, delegating to its `stream` field.
/// (napi classes cannot be generic, so each reader is a small concrete class.)
macro_rules! reader_methods {
    ($reader:ident) => {
        #[napi_derive::napi]
        impl $reader {
            /// Waits for records and writes them into `into` (which JavaScript must leave
            /// alone until this resolves); resolves to `null` once closed or cancelled.
            #[napi]
            pub async fn read(&self, mut into: napi::bindgen_prelude::Buffer, options: $crate::streams::ReadOptions) -> napi::Result<Option<$crate::streams::ReadResult>> {
                Ok(self.stream.read(&mut into, options.policy(), options.read_id.max(0) as u64).await?)
            }

            /// Writes what is waiting now into `into` without waiting and returns how many
            /// records; `result` gets `[bytes, lost, needBytes, full]` (all 0 when nothing was
            /// waiting: then wait with `arm`; `full` is 1 when records were left behind because
            /// `into` or `max_events` was used up, so the consumer reads again before it waits).
            /// The consumer's per-batch call, so it allocates nothing: no result object, no
            /// reference to `into` (which is only borrowed for the call).
            /// With `wake`: when nothing was waiting, or (ring buffers) the read took all there
            /// was, `wake` is armed as by `arm` and `result[3]` is 2 (`ARMED`), so the consumer
            /// waits without another call; an empty read of a closed stream leaves it 0.
            #[napi]
            pub fn try_read(
                &self,
                env: napi::Env,
                mut into: napi::bindgen_prelude::BufferSlice,
                max_events: u32,
                mut result: napi::bindgen_prelude::Float64ArraySlice,
                wake: Option<napi::bindgen_prelude::Function<'_, (), ()>>,
            ) -> napi::Result<u32> {
                // SAFETY: the slice is the caller's typed array, borrowed for this call only.
                let out = unsafe { result.as_mut() };
                if out.len() < 4 {
                    return Err($crate::error::NodeError::new($crate::error::Code::InvalidArgument, "tryRead: result must hold 4 numbers").into());
                }
                let read = self.stream.try_read(&mut into, max_events)?;
                let drained = match &read {
                    Some((r, full)) => !full && r.lost == 0.0 && r.need_bytes == 0 && self.stream.arms_when_drained(),
                    None => true,
                };
                let armed = match wake {
                    Some(wake) if drained => match self.stream.arm(env.raw(), napi::JsValue::value(&wake).value) {
                        Ok(armed) => armed,
                        Err(err) if read.is_none() => return Err(err.into()),
                        // The records are out of the ring already: hand them up, unarmed; the
                        // consumer's own `arm` before it waits reports the error.
                        Err(_) => false,
                    },
                    _ => false,
                };
                let state = if armed { 2.0 } else { read.as_ref().map_or(0.0, |(_, full)| f64::from(u8::from(*full))) };
                let (count, fields) = match read {
                    Some((r, _)) => (r.count, [f64::from(r.bytes), r.lost, f64::from(r.need_bytes), state]),
                    None => (0, [0.0, 0.0, 0.0, state]),
                };
                out[..4].copy_from_slice(&fields);
                Ok(count)
            }

            /// Calls `callback` once when records are waiting (then `tryRead`); `false` once closed.
            #[napi]
            pub fn arm(&self, env: napi::Env, callback: napi::bindgen_prelude::Function<'_, (), ()>) -> napi::Result<bool> {
                Ok(self.stream.arm(env.raw(), napi::JsValue::value(&callback).value)?)
            }

            /// Undoes `arm`: its callback will not run.
            #[napi]
            pub fn disarm(&self) {
                self.stream.disarm();
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The records of a batch: (tag, bytes) in order.
    fn records(data: &[u8]) -> Vec<(u32, Vec<u8>)> {
        let mut out = Vec::new();
        let mut at = 0;
        while at < data.len() {
            let len = u32::from_le_bytes(data[at..at + 4].try_into().unwrap()) as usize;
            let tag = u32::from_le_bytes(data[at + 4..at + 8].try_into().unwrap());
            out.push((tag, data[at + HEADER..at + HEADER + len].to_vec()));
            assert!(data[at + HEADER + len..at + record_size(len)].iter().all(|&b| b == 0), "padding is zero");
            at += record_size(len);
        }
        out
    }

    #[test]
    fn record_size_pads_to_8_after_the_header() {
        assert_eq!(record_size(0), 8);
        assert_eq!(record_size(1), 16);
        assert_eq!(record_size(8), 16);
        assert_eq!(record_size(9), 24);
    }

    #[test]
    fn records_are_laid_out_with_length_tag_and_zero_padding() {
        let mut out = vec![0xffu8; 64];
        let mut overflow = Overflow::default();
        let mut batch = Batch::new(&mut out, &mut overflow);
        batch.push(7, &[b"abc", b"de"]);
        batch.push(9, &[]);
        assert_eq!(batch.count(), 2);
        assert!(!batch.full);
        let result = batch.result();
        assert_eq!((result.count, result.bytes), (2, 24));
        assert_eq!(records(&out[..24]), vec![(7, b"abcde".to_vec()), (9, vec![])]);
    }

    #[test]
    fn a_record_past_the_end_waits_in_the_overflow_and_comes_first_next_time() {
        let mut out = vec![0u8; 32];
        let mut overflow = Overflow::default();
        {
            let mut batch = Batch::new(&mut out, &mut overflow);
            batch.push(1, &[&[1u8; 8]]); // 16 bytes
            batch.push(2, &[&[2u8; 16]]); // 24 bytes: does not fit in the 16 left
            batch.push(3, &[&[3u8; 1]]); // would fit, but must stay behind record 2
            assert!(batch.full);
            assert_eq!(batch.count(), 1);
            assert_eq!(batch.pushed, 3, "overflowed records count against max too");
        }
        assert_eq!(records(&out[..16]), vec![(1, vec![1u8; 8])]);
        {
            // 24 + 16 bytes wait: only record 2 fits in 32; record 3 keeps its place.
            let mut batch = Batch::new(&mut out, &mut overflow);
            assert_eq!(batch.count(), 1);
            assert!(batch.full);
            batch.push(4, &[b"x"]);
            assert_eq!(batch.count(), 1, "a new record queues behind the overflow, never before it");
            assert_eq!(records(batch.data()), vec![(2, vec![2u8; 16])]);
        }
        let batch = Batch::new(&mut out, &mut overflow);
        assert_eq!(batch.count(), 2);
        assert!(!batch.full);
        assert_eq!(records(batch.data()), vec![(3, vec![3u8]), (4, b"x".to_vec())]);
    }

    #[test]
    fn an_overflowed_record_larger_than_the_whole_buffer_asks_for_more_bytes() {
        let mut small = vec![0u8; 16];
        let mut overflow = Overflow::default();
        {
            let mut batch = Batch::new(&mut small, &mut overflow);
            batch.push(1, &[&[0u8; 40]]);
            assert_eq!(batch.count(), 0);
        }
        let batch = Batch::new(&mut small, &mut overflow);
        assert!(batch.full);
        assert_eq!(batch.need_bytes, record_size(40));
        assert_eq!(batch.result().need_bytes, 48);
        drop(batch);
        let mut big = vec![0u8; 64];
        let batch = Batch::new(&mut big, &mut overflow);
        assert_eq!((batch.count(), batch.need_bytes), (1, 0), "delivered once the buffer is large enough");
    }

    /// A source of records in memory (its fd is /dev/null's: only `try_read` is used).
    struct FakeSource {
        records: std::collections::VecDeque<Vec<u8>>,
        fd: std::fs::File,
    }

    impl AsRawFd for FakeSource {
        fn as_raw_fd(&self) -> std::os::fd::RawFd {
            self.fd.as_raw_fd()
        }
    }

    impl Source for FakeSource {
        fn drain(&mut self, batch: &mut Batch<'_>, max: u32) -> Result<()> {
            let mut moved = 0;
            while moved < max && !batch.full {
                let Some(record) = self.records.pop_front() else { break };
                if record_size(record.len()) > batch.room() {
                    batch.full = true;
                    self.records.push_front(record);
                    break;
                }
                batch.push(0, &[&record]);
                moved += 1;
            }
            Ok(())
        }
    }

    fn fake_stream(records: &[&[u8]]) -> Stream<FakeSource> {
        let fd = std::fs::File::open("/dev/null").unwrap();
        Stream::new(FakeSource { records: records.iter().map(|r| r.to_vec()).collect(), fd }, "fake")
    }

    #[test]
    fn try_read_says_whether_records_were_left_behind() {
        let stream = fake_stream(&[b"a", b"b", b"c"]);
        let mut out = vec![0u8; 256];
        let (first, full) = stream.try_read(&mut out, 2).unwrap().unwrap();
        assert_eq!((first.count, full), (2, true), "max_events used up: read again before waiting");
        let (rest, full) = stream.try_read(&mut out, 10).unwrap().unwrap();
        assert_eq!((rest.count, rest.bytes, full), (1, 16, false), "the source was emptied");
        assert!(stream.try_read(&mut out, 10).unwrap().is_none(), "nothing waiting: None");
        let stream = fake_stream(&[b"12345678", b"next"]);
        let mut small = vec![0u8; 24];
        let (one, full) = stream.try_read(&mut small, 10).unwrap().unwrap();
        assert_eq!((one.count, full), (1, true), "the buffer was full with a record waiting");
    }

    #[test]
    fn push_laid_out_appends_records_already_in_batch_layout() {
        let mut out = vec![0u8; 64];
        let mut overflow = Overflow::default();
        let mut batch = Batch::new(&mut out, &mut overflow);
        let mut laid = vec![0u8; 16];
        laid[..4].copy_from_slice(&3u32.to_le_bytes());
        laid[8..11].copy_from_slice(b"xyz");
        batch.push_laid_out(&laid, 1);
        assert_eq!((batch.count(), batch.pushed, batch.room()), (1, 1, 48));
    }
}

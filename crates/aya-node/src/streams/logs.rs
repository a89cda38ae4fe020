//! Records of eBPF programs that log with `aya-log-ebpf` (the `AYA_LOGS` ring buffer),
//! formatted by `aya-log` and handed to JavaScript in batches. Record tag: the level
//! (1 error ... 5 trace); bytes: `target NUL module NUL message`.

use std::{
    os::fd::{AsRawFd, RawFd},
    panic::AssertUnwindSafe,
    sync::{Arc, Mutex},
};

use aya_log::EbpfLogger;
use napi_derive::napi;

use crate::{
    error::{Code, NodeError, Result},
    object::{lock, EbpfObject},
    streams::{reader_methods, Batch, Source, Stream},
};

type Pending = Arc<Mutex<Vec<(u32, Vec<u8>)>>>;

/// A `log::Log` that keeps the records aya-log formats for us.
struct Collector(Pending);

impl log::Log for Collector {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }

    fn log(&self, record: &log::Record) {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(record.target().as_bytes());
        bytes.push(0);
        bytes.extend_from_slice(record.module_path().unwrap_or("").as_bytes());
        bytes.push(0);
        bytes.extend_from_slice(record.args().to_string().as_bytes());
        let mut pending = self.0.lock().unwrap_or_else(|p| p.into_inner());
        pending.push((record.level() as u32, bytes));
    }

    fn flush(&self) {}
}

pub struct LogSource {
    logger: EbpfLogger<Collector>,
    pending: Pending,
}

impl AsRawFd for LogSource {
    fn as_raw_fd(&self) -> RawFd {
        self.logger.as_raw_fd()
    }
}

impl Source for LogSource {
    fn drain(&mut self, batch: &mut Batch<'_>, max: u32) -> Result<()> {
        // aya-log panics on a malformed record; keep that on this side of the FFI boundary.
        std::panic::catch_unwind(AssertUnwindSafe(|| self.logger.flush()))
            .map_err(|_| NodeError::new(Code::Parse, "a malformed aya-log record was read from AYA_LOGS"))?;
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let mut taken = 0;
        for (level, bytes) in pending.iter() {
            if taken >= max as usize || batch.full {
                break;
            }
            batch.push(*level, &[bytes]);
            taken += 1;
        }
        pending.drain(..taken);
        Ok(())
    }
}

#[napi]
pub struct LogReader {
    stream: Stream<LogSource>,
}

reader_methods!(LogReader);

#[napi]
impl EbpfObject {
    /// Takes the object's `AYA_LOGS` map into a reader of formatted log records.
    #[napi]
    pub fn take_logs(&self) -> napi::Result<LogReader> {
        let mut state = lock(&self.state);
        let pending = Pending::default();
        let logger = EbpfLogger::init_with_logger(state.ebpf()?, Collector(pending.clone())).map_err(|e| {
            let mut err = NodeError::from_aya("opening AYA_LOGS", &e);
            if matches!(e, aya_log::Error::MapNotFound) {
                err.code = Code::NotFound;
                err.message = "the object has no AYA_LOGS map (its programs do not use aya-log-ebpf)".into();
            }
            err
        })?;
        Ok(LogReader { stream: Stream::new(LogSource { logger, pending }, "log reader") })
    }
}

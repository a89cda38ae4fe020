//! The kernel's trace pipe (`bpf_printk` output), read without blocking a thread:
//! the pipe is opened non-blocking and polled through tokio. One record per complete line.

use std::{
    fs::{File, OpenOptions},
    io::{self, Read},
    os::{
        fd::{AsRawFd, RawFd},
        unix::fs::OpenOptionsExt,
    },
};

use napi_derive::napi;

use crate::{
    error::{Code, NodeError, Result},
    streams::{reader_methods, Batch, Source, Stream},
};

pub struct TracePipeSource {
    file: File,
    /// Bytes of a line whose end has not been read yet.
    partial: Vec<u8>,
}

impl AsRawFd for TracePipeSource {
    fn as_raw_fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }
}

impl Source for TracePipeSource {
    fn drain(&mut self, batch: &mut Batch<'_>, max: u32) -> Result<()> {
        let start = batch.pushed;
        let mut chunk = [0u8; 16 * 1024];
        loop {
            while let Some(end) = self.partial.iter().position(|&b| b == b'\n') {
                if batch.pushed - start >= max || batch.full {
                    return Ok(());
                }
                let line: Vec<u8> = self.partial.drain(..=end).collect();
                batch.push(0, &[&line[..line.len() - 1]]);
            }
            match self.file.read(&mut chunk) {
                Ok(0) => return Ok(()),
                Ok(n) => self.partial.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(NodeError::syscall("read trace_pipe", e)),
            }
        }
    }
}

#[napi]
pub struct TracePipeReader {
    stream: Stream<TracePipeSource>,
}

reader_methods!(TracePipeReader);

#[napi]
impl TracePipeReader {
    /// Opens `path` (the `trace_pipe` of a mounted tracefs) for reading.
    #[napi(factory)]
    pub fn open(path: String) -> napi::Result<TracePipeReader> {
        let file = OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(&path).map_err(|e| {
            let mut err = NodeError::syscall("open", e);
            if err.errno == Some(libc::ENOENT) {
                err.code = Code::NotFound;
            }
            err.message = format!("opening {path}: {}", err.message);
            err
        })?;
        Ok(TracePipeReader { stream: Stream::new(TracePipeSource { file, partial: Vec::new() }, "trace pipe") })
    }
}

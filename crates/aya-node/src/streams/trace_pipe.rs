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

#[cfg(test)]
mod tests {
    use std::{io::Write, os::fd::FromRawFd};

    use super::*;
    use crate::streams::Overflow;

    /// A trace pipe source over an ordinary non-blocking pipe, and its write end.
    fn source() -> (TracePipeSource, File) {
        let mut fds = [0; 2];
        // SAFETY: pipe2 fills `fds` with two new fds, which the Files below own.
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) }, 0);
        // SAFETY: as above.
        let (read, write) = unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) };
        (TracePipeSource { file: read, partial: Vec::new() }, write)
    }

    fn lines(source: &mut TracePipeSource, max: u32) -> Vec<String> {
        let (mut out, mut overflow) = (vec![0u8; 4096], Overflow::default());
        let mut batch = Batch::new(&mut out, &mut overflow);
        source.drain(&mut batch, max).unwrap();
        let data = batch.data().to_vec();
        let mut found = Vec::new();
        let mut at = 0;
        while at < data.len() {
            let len = u32::from_le_bytes(data[at..at + 4].try_into().unwrap()) as usize;
            found.push(String::from_utf8_lossy(&data[at + 8..at + 8 + len]).into_owned());
            at += crate::streams::record_size(len);
        }
        found
    }

    #[test]
    fn complete_lines_are_records_and_a_partial_line_waits_for_its_end() {
        let (mut source, mut write) = source();
        write.write_all(b"first\nsecond\nthi").unwrap();
        assert_eq!(lines(&mut source, 100), vec!["first", "second"]);
        assert!(lines(&mut source, 100).is_empty(), "nothing new: no record, no blocking");
        write.write_all(b"rd\n").unwrap();
        assert_eq!(lines(&mut source, 100), vec!["third"]);
    }

    #[test]
    fn max_events_leaves_the_other_lines_for_the_next_read() {
        let (mut source, mut write) = source();
        write.write_all(b"a\nb\nc\n").unwrap();
        assert_eq!(lines(&mut source, 2), vec!["a", "b"]);
        assert_eq!(lines(&mut source, 2), vec!["c"]);
    }
}

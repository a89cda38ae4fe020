//! `BPF_MAP_TYPE_PERF_EVENT_ARRAY` consumer: one perf buffer per online CPU, merged.
//!
//! The per-CPU buffer fds sit in one epoll instance of our own, and that epoll fd is what
//! tokio waits on, so the generic [`Stream`] serves any number of CPUs with one fd.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use aya::maps::{
    perf::{PerfEvent, PerfEventArray, PerfEventArrayBuffer},
    MapData,
};
use napi_derive::napi;

use crate::{
    error::{AyaContext, Code, NodeError, Result},
    object::{lock, EbpfObject},
    streams::{reader_methods, Batch, Source, Stream},
};

pub struct PerfSource {
    epoll: OwnedFd,
    buffers: Vec<(u32, PerfEventArrayBuffer<MapData>)>,
}

impl AsRawFd for PerfSource {
    fn as_raw_fd(&self) -> RawFd {
        self.epoll.as_raw_fd()
    }
}

impl Source for PerfSource {
    const POLL_USES_UP_READINESS: bool = true;

    fn drain(&mut self, batch: &mut Batch<'_>, max: u32) -> Result<()> {
        let start = batch.pushed;
        for (cpu, buffer) in &mut self.buffers {
            if batch.pushed - start >= max || batch.full {
                break;
            }
            let _ = buffer.try_fold((), |(), event| {
                match event {
                    PerfEvent::Sample { head, tail } => batch.push(*cpu, &[head, tail]),
                    PerfEvent::Lost { count } => batch.lost += count,
                }
                // A sample read cannot be put back: one past the room waits in the overflow.
                if batch.pushed - start >= max || batch.full {
                    std::ops::ControlFlow::Break(())
                } else {
                    std::ops::ControlFlow::Continue(())
                }
            });
        }
        Ok(())
    }
}

#[napi]
pub struct PerfEventArrayReader {
    stream: Stream<PerfSource>,
    cpus: Vec<u32>,
}

reader_methods!(PerfEventArrayReader);

#[napi]
impl PerfEventArrayReader {
    /// The CPUs whose buffers are open.
    #[napi(getter)]
    pub fn cpus(&self) -> Vec<u32> {
        self.cpus.clone()
    }
}

#[napi]
impl EbpfObject {
    /// Takes the perf event array `name` out of the object and opens a buffer of
    /// `pageCount` pages (a power of two, default 64) for every online CPU.
    #[napi]
    pub fn take_perf_event_array(&self, name: String, page_count: Option<u32>) -> napi::Result<PerfEventArrayReader> {
        let pages = page_count.unwrap_or(64) as usize;
        if !pages.is_power_of_two() {
            return Err(NodeError::new(Code::InvalidArgument, format!("pageCount must be a power of two, got {pages}")).into());
        }
        let map = {
            let mut state = lock(&self.state);
            // Check before taking, so a wrong type leaves the map in the object.
            if let Some(map) = state.ebpf()?.map(&name).filter(|map| !matches!(map, aya::maps::Map::PerfEventArray(_))) {
                return Err(NodeError::new(Code::WrongType, format!("map `{name}` is a {} map, not perf_event_array", super::map_kind(map))).into());
            }
            state.take_map(&name)?
        };
        let mut array = PerfEventArray::try_from(map).context(|| format!("opening `{name}` as a perf event array"))?;
        let cpus = aya::util::online_cpus().map_err(|(what, e)| NodeError::syscall(what, e))?;
        // SAFETY: epoll_create1 returns a new fd that nothing else owns.
        let epoll = match unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) } {
            -1 => return Err(NodeError::syscall("epoll_create1", std::io::Error::last_os_error()).into()),
            fd => unsafe { OwnedFd::from_raw_fd(fd) },
        };
        let mut buffers = Vec::with_capacity(cpus.len());
        for &cpu in &cpus {
            let buffer = array.open(cpu, Some(pages)).context(|| format!("opening the perf buffer of CPU {cpu}"))?;
            let mut event = libc::epoll_event { events: libc::EPOLLIN as u32, u64: u64::from(cpu) };
            // SAFETY: both fds are open and owned by values that outlive this call.
            if unsafe { libc::epoll_ctl(epoll.as_raw_fd(), libc::EPOLL_CTL_ADD, buffer.as_raw_fd(), &mut event) } == -1 {
                return Err(NodeError::syscall("epoll_ctl", std::io::Error::last_os_error()).into());
            }
            buffers.push((cpu, buffer));
        }
        Ok(PerfEventArrayReader { stream: Stream::new(PerfSource { epoll, buffers }, "perf event array"), cpus })
    }
}

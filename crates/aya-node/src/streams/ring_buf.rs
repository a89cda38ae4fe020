//! `BPF_MAP_TYPE_RINGBUF` consumer, plus the per-CPU drop counter that
//! `aya_node_ebpf::ring::output_or_count_drop` keeps beside a ring.

use std::{
    io,
    os::fd::{AsFd, AsRawFd, RawFd},
    ptr::NonNull,
    sync::atomic::{fence, AtomicU32, AtomicUsize, Ordering},
};

use aya::maps::{Map, MapData, PerCpuArray};
use napi::bindgen_prelude::BigInt;
use napi_derive::napi;

use crate::{
    error::{AyaContext, Code, NodeError, Result},
    object::{lock, EbpfObject},
    streams::{reader_methods, record_size, Batch, Source, Stream},
};

/// Bits of a record header's length word (kernel `BPF_RINGBUF_*_BIT`).
const BUSY_BIT: u32 = 1 << 31;
const DISCARD_BIT: u32 = 1 << 30;
const HEADER_SIZE: usize = 8;

/// One `mmap` of the ring's fd, unmapped on drop.
struct Mapping {
    ptr: NonNull<libc::c_void>,
    len: usize,
}

impl Mapping {
    fn new(fd: RawFd, len: usize, prot: libc::c_int, offset: usize) -> Result<Self> {
        // SAFETY: a fresh shared mapping of a ring buffer fd; the kernel checks length and offset.
        let ptr = unsafe { libc::mmap(std::ptr::null_mut(), len, prot, libc::MAP_SHARED, fd, offset as libc::off_t) };
        if ptr == libc::MAP_FAILED {
            return Err(NodeError::syscall("mmap", io::Error::last_os_error()));
        }
        let ptr = NonNull::new(ptr).ok_or_else(|| NodeError::new(Code::Kernel, "mmap returned null"))?;
        Ok(Self { ptr, len })
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are exactly what mmap returned; nothing borrows the mapping now.
        unsafe { libc::munmap(self.ptr.as_ptr(), self.len) };
    }
}

/// A ring buffer consumer over the kernel's shared pages. The kernel maps the data area twice,
/// back to back, so a run of records that wraps around is still contiguous in memory: a whole
/// batch is one `memcpy`. Records keep the kernel's 8-byte header (`u32 length | u32 page
/// offset`), which is already the batch layout of `streams/mod.rs` (the tag is unused for rings).
pub struct RingSource {
    /// Owns the fd the mappings belong to.
    map: MapData,
    /// The consumer page: the consumer position, which we write.
    consumer: Mapping,
    /// The producer page (producer position) followed by the data area, twice; read-only.
    producer: Mapping,
    page_size: usize,
    mask: usize,
}

// SAFETY: the mappings are plain shared memory owned by this value; it is used by one thread at
// a time (the stream's mutex).
unsafe impl Send for RingSource {}

impl RingSource {
    pub fn new(map: MapData) -> Result<Self> {
        let byte_size = map.info().context(|| "reading the ring buffer's size".to_string())?.max_entries() as usize;
        // SAFETY: sysconf has no preconditions.
        let page_size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
        let fd = map.fd().as_fd().as_raw_fd();
        let consumer = Mapping::new(fd, page_size, libc::PROT_READ | libc::PROT_WRITE, 0)?;
        let producer = Mapping::new(fd, page_size + 2 * byte_size, libc::PROT_READ, page_size)?;
        Ok(Self { map, consumer, producer, page_size, mask: byte_size - 1 })
    }

    fn consumer_pos(&self) -> &AtomicUsize {
        // SAFETY: the consumer page starts with the kernel's `unsigned long consumer_pos`.
        unsafe { self.consumer.ptr.cast::<AtomicUsize>().as_ref() }
    }

    fn producer_pos(&self) -> usize {
        // SAFETY: the producer page starts with the kernel's `unsigned long producer_pos`.
        unsafe { self.producer.ptr.cast::<AtomicUsize>().as_ref() }.load(Ordering::Acquire)
    }

    /// The data area seen from `pos`, `len` bytes (contiguous thanks to the double mapping).
    fn data_at(&self, pos: usize, len: usize) -> &[u8] {
        let offset = self.page_size + (pos & self.mask);
        debug_assert!(offset + len <= self.producer.len);
        // SAFETY: `pos & mask` < byte_size and a record (or a run of records) is at most
        // byte_size long, so the range lies inside the double-mapped data area.
        unsafe { std::slice::from_raw_parts(self.producer.ptr.cast::<u8>().as_ptr().add(offset), len) }
    }

    fn header(&self, pos: usize) -> u32 {
        let word = self.data_at(pos, 4).as_ptr().cast::<AtomicU32>();
        // SAFETY: headers are 8-byte aligned; Acquire pairs with the kernel's commit, so the
        // record's bytes are visible once its busy bit is clear.
        unsafe { &*word }.load(Ordering::Acquire)
    }

    /// Moves up to `max` committed records from `start` (before `end`) into `batch`, as many
    /// as fit. Returns the position after the last one moved.
    fn drain_from(&self, start: usize, end: usize, batch: &mut Batch<'_>, max: u32) -> usize {
        // Walk the headers first: stop at a busy (reserved, uncommitted) record or when the
        // next one does not fit.
        let room = batch.room();
        let mut pos = start;
        let mut records = 0u32;
        let mut discarded = false;
        while pos != end && records < max {
            let header = self.header(pos);
            if header & BUSY_BIT != 0 {
                break;
            }
            let size = record_size((header & !(BUSY_BIT | DISCARD_BIT)) as usize);
            if pos - start + size > room {
                batch.full = true;
                if batch.count() == 0 && pos == start {
                    batch.need_bytes = size;
                }
                break;
            }
            discarded |= header & DISCARD_BIT != 0;
            pos += size;
            records += 1;
        }
        if !discarded {
            // The common case: the run is already in batch layout.
            batch.push_laid_out(self.data_at(start, pos - start), records);
            return pos;
        }
        let mut at = start;
        while at != pos {
            let header = self.header(at);
            let len = (header & !(BUSY_BIT | DISCARD_BIT)) as usize;
            if header & DISCARD_BIT == 0 {
                batch.push(0, &[self.data_at(at + HEADER_SIZE, len)]);
            }
            at += record_size(len);
        }
        pos
    }
}

impl AsRawFd for RingSource {
    fn as_raw_fd(&self) -> RawFd {
        self.map.fd().as_fd().as_raw_fd()
    }
}

impl Source for RingSource {
    fn drain(&mut self, batch: &mut Batch<'_>, max: u32) -> Result<()> {
        let first = batch.pushed;
        loop {
            let start = self.consumer_pos().load(Ordering::Relaxed);
            let end = self.producer_pos();
            let moved = batch.pushed - first;
            if start == end || moved >= max || batch.full {
                return Ok(());
            }
            let pos = self.drain_from(start, end, batch, max - moved);
            if pos == start {
                return Ok(()); // a busy record (its commit will wake us), or no room
            }
            self.consumer_pos().store(pos, Ordering::Release);
            // Order the store before the next producer load: either we see records committed
            // meanwhile, or their producer sees our position and wakes the fd.
            fence(Ordering::SeqCst);
        }
    }
}

#[napi]
pub struct RingBufReader {
    pub(crate) stream: Stream<RingSource>,
}

reader_methods!(RingBufReader);

#[napi]
impl EbpfObject {
    /// Takes the ring buffer map `name` out of the object into a reader.
    #[napi]
    pub fn take_ring_buf(&self, name: String) -> napi::Result<RingBufReader> {
        let mut state = lock(&self.state);
        let not_a_ring = || NodeError::new(Code::WrongType, format!("map `{name}` is not a ring buffer"));
        // Check before taking, so a wrong name leaves the map in the object.
        if state.ebpf()?.map(&name).is_some_and(|map| !matches!(map, Map::RingBuf(_))) {
            return Err(not_a_ring().into());
        }
        let Map::RingBuf(data) = state.take_map(&name)? else { return Err(not_a_ring().into()) };
        Ok(RingBufReader { stream: Stream::new(RingSource::new(data)?, "ring buffer") })
    }

    /// Sum over CPUs of entry 0 of the per-CPU `u64` array `name` (a drop counter).
    #[napi]
    pub fn per_cpu_counter_sum(&self, name: String) -> napi::Result<BigInt> {
        let mut state = lock(&self.state);
        let map = state
            .ebpf()?
            .map(&name)
            .ok_or_else(|| NodeError::new(Code::NotFound, format!("no map named `{name}` in the object")))?;
        let counters = PerCpuArray::<&MapData, u64>::try_from(map)
            .context(|| format!("opening `{name}` as a per-CPU u64 array (the drop counter)"))?;
        let values = counters.get(&0, 0).context(|| format!("reading `{name}`"))?;
        Ok(BigInt::from(values.iter().fold(0u64, |sum, v| sum.wrapping_add(*v))))
    }
}

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

/// A ring buffer consumer over the kernel's shared pages: owns the fd and the two mappings,
/// and reads through a [`RingPages`] view of them.
pub struct RingSource {
    /// Owns the fd the mappings belong to.
    map: MapData,
    _consumer: Mapping,
    _producer: Mapping,
    pages: RingPages,
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
        // SAFETY: the mappings have the layout RingPages reads, and outlive it (both are fields
        // of this value, and `pages` never leaves it).
        let pages = unsafe { RingPages::new(consumer.ptr.cast(), producer.ptr.cast(), page_size, byte_size) };
        Ok(Self { map, _consumer: consumer, _producer: producer, pages })
    }
}

/// The ring's memory as the kernel lays it out: a consumer page starting with the consumer
/// position (which we write), and a producer page starting with the producer position followed
/// by the data area, mapped twice back to back, so a run of records that wraps around is still
/// contiguous in memory: a whole batch is one `memcpy`. Records keep the kernel's 8-byte header
/// (`u32 length | u32 page offset`), which is already the batch layout of `streams/mod.rs` (the
/// tag is unused for rings).
struct RingPages {
    consumer: NonNull<u8>,
    producer: NonNull<u8>,
    page_size: usize,
    mask: usize,
}

impl RingPages {
    /// # Safety
    /// `consumer` must point to a writable page starting with an 8-byte-aligned position word;
    /// `producer` to `page_size + 2 * byte_size` readable bytes: a position word, then (from
    /// `page_size` on) the data area twice. `byte_size` is a power of two. Both stay valid for
    /// the life of the value.
    unsafe fn new(consumer: NonNull<u8>, producer: NonNull<u8>, page_size: usize, byte_size: usize) -> Self {
        Self { consumer, producer, page_size, mask: byte_size - 1 }
    }

    fn consumer_pos(&self) -> &AtomicUsize {
        // SAFETY: the consumer page starts with the kernel's `unsigned long consumer_pos`.
        unsafe { self.consumer.cast::<AtomicUsize>().as_ref() }
    }

    fn producer_pos(&self) -> usize {
        // SAFETY: the producer page starts with the kernel's `unsigned long producer_pos`.
        unsafe { self.producer.cast::<AtomicUsize>().as_ref() }.load(Ordering::Acquire)
    }

    /// The data area seen from `pos`, `len` bytes (contiguous thanks to the double mapping).
    fn data_at(&self, pos: usize, len: usize) -> &[u8] {
        let offset = self.page_size + (pos & self.mask);
        debug_assert!(len <= self.mask + 1);
        // SAFETY: `pos & mask` < byte_size and a record (or a run of records) is at most
        // byte_size long, so the range lies inside the double-mapped data area.
        unsafe { std::slice::from_raw_parts(self.producer.as_ptr().add(offset), len) }
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

    /// Moves up to `max` committed records into `batch` and hands their space back to the
    /// kernel, until the ring is empty, a record is busy or `batch` is full.
    fn drain(&self, batch: &mut Batch<'_>, max: u32) {
        let first = batch.pushed;
        loop {
            let start = self.consumer_pos().load(Ordering::Relaxed);
            let end = self.producer_pos();
            let moved = batch.pushed - first;
            if start == end || moved >= max || batch.full {
                return;
            }
            let pos = self.drain_from(start, end, batch, max - moved);
            if pos == start {
                return; // a busy record (its commit will wake us), or no room
            }
            self.consumer_pos().store(pos, Ordering::Release);
            // Order the store before the next producer load: either we see records committed
            // meanwhile, or their producer sees our position and wakes the fd.
            fence(Ordering::SeqCst);
        }
    }
}

impl AsRawFd for RingSource {
    fn as_raw_fd(&self) -> RawFd {
        self.map.fd().as_fd().as_raw_fd()
    }
}

impl Source for RingSource {
    // `drain` re-reads the producer position after handing space back (see `RingPages::drain`).
    const ARM_WHEN_DRAINED: bool = true;

    fn drain(&mut self, batch: &mut Batch<'_>, max: u32) -> Result<()> {
        self.pages.drain(batch, max);
        Ok(())
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
        let not_a_ring = || NodeError::new(Code::WrongType, format!("map `{name}` is not a ringbuf map"));
        // Check before taking, so a wrong name leaves the map in the object.
        if let Some(map) = state.ebpf()?.map(&name).filter(|map| !matches!(map, Map::RingBuf(_))) {
            return Err(NodeError::new(Code::WrongType, format!("map `{name}` is a {} map, not ringbuf", super::map_kind(map))).into());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::streams::Overflow;

    const PAGE: usize = 64;
    const SIZE: usize = 128;

    /// A ring in plain memory, laid out as the kernel maps it (data area written twice).
    struct FakeRing {
        consumer: Vec<u64>,
        producer: Vec<u64>,
        pages: RingPages,
    }

    impl FakeRing {
        fn new() -> Self {
            let mut consumer = vec![0u64; PAGE / 8];
            let mut producer = vec![0u64; (PAGE + 2 * SIZE) / 8];
            let c = NonNull::new(consumer.as_mut_ptr().cast::<u8>()).unwrap();
            let p = NonNull::new(producer.as_mut_ptr().cast::<u8>()).unwrap();
            // SAFETY: the vectors have the layout and live as long as the value (moving a Vec
            // does not move its heap buffer).
            let pages = unsafe { RingPages::new(c, p, PAGE, SIZE) };
            Self { consumer, producer, pages }
        }

        fn bytes(&mut self) -> &mut [u8] {
            // SAFETY: u64s viewed as bytes.
            unsafe { std::slice::from_raw_parts_mut(self.producer.as_mut_ptr().cast::<u8>(), self.producer.len() * 8) }
        }

        /// Writes a record at ring position `pos` (in both copies of the data area) with the
        /// given header bits, and moves the producer position past it.
        fn write(&mut self, pos: usize, payload: &[u8], bits: u32) -> usize {
            let size = record_size(payload.len());
            let mut record = vec![0u8; size];
            record[..4].copy_from_slice(&(payload.len() as u32 | bits).to_le_bytes());
            record[8..8 + payload.len()].copy_from_slice(payload);
            for (i, byte) in record.iter().enumerate() {
                let at = (pos + i) % SIZE;
                self.bytes()[PAGE + at] = *byte;
                self.bytes()[PAGE + SIZE + at] = *byte;
            }
            self.producer[0] = (pos + size) as u64;
            pos + size
        }

        fn consumer_pos(&self) -> u64 {
            self.consumer[0]
        }

        fn drain(&self, out: &mut [u8], overflow: &mut Overflow, max: u32) -> (Vec<Vec<u8>>, bool, usize) {
            let mut batch = Batch::new(out, overflow);
            self.pages.drain(&mut batch, max);
            let (full, need) = (batch.full, batch.need_bytes);
            let mut payloads = Vec::new();
            let data = batch.data();
            let mut at = 0;
            while at < data.len() {
                let len = (u32::from_le_bytes(data[at..at + 4].try_into().unwrap()) & !(BUSY_BIT | DISCARD_BIT)) as usize;
                payloads.push(data[at + 8..at + 8 + len].to_vec());
                at += record_size(len);
            }
            (payloads, full, need)
        }
    }

    #[test]
    fn committed_records_are_drained_and_their_space_given_back() {
        let mut ring = FakeRing::new();
        let end = ring.write(0, b"one", 0);
        let end = ring.write(end, b"second!!", 0);
        let (mut out, mut overflow) = (vec![0u8; 256], Overflow::default());
        let (got, full, _) = ring.drain(&mut out, &mut overflow, 100);
        assert_eq!(got, vec![b"one".to_vec(), b"second!!".to_vec()]);
        assert!(!full);
        assert_eq!(ring.consumer_pos(), end as u64);
    }

    #[test]
    fn a_busy_record_stops_the_drain_until_it_is_committed() {
        let mut ring = FakeRing::new();
        let end = ring.write(0, b"ready", 0);
        let busy_end = ring.write(end, b"reserved", BUSY_BIT);
        ring.write(busy_end, b"after", 0);
        let (mut out, mut overflow) = (vec![0u8; 256], Overflow::default());
        let (got, _, _) = ring.drain(&mut out, &mut overflow, 100);
        assert_eq!(got, vec![b"ready".to_vec()]);
        assert_eq!(ring.consumer_pos(), end as u64, "nothing past the busy record is consumed");
        ring.write(end, b"reserved", 0); // the commit clears the busy bit
        let last = ring.write(busy_end, b"after", 0);
        let (got, _, _) = ring.drain(&mut out, &mut overflow, 100);
        assert_eq!(got, vec![b"reserved".to_vec(), b"after".to_vec()]);
        assert_eq!(ring.consumer_pos(), last as u64);
    }

    #[test]
    fn discarded_records_are_skipped_but_consumed() {
        let mut ring = FakeRing::new();
        let end = ring.write(0, b"keep", 0);
        let end = ring.write(end, b"drop", DISCARD_BIT);
        let end = ring.write(end, b"keep too", 0);
        let (mut out, mut overflow) = (vec![0u8; 256], Overflow::default());
        let (got, _, _) = ring.drain(&mut out, &mut overflow, 100);
        assert_eq!(got, vec![b"keep".to_vec(), b"keep too".to_vec()]);
        assert_eq!(ring.consumer_pos(), end as u64);
    }

    #[test]
    fn records_that_wrap_around_the_end_are_read_whole() {
        let mut ring = FakeRing::new();
        // Start near the end of the 128-byte area: the second record crosses the boundary.
        let start = SIZE - 16;
        ring.consumer[0] = start as u64;
        let end = ring.write(start, b"tail", 0);
        let end = ring.write(end, b"across the end!", 0);
        let (mut out, mut overflow) = (vec![0u8; 256], Overflow::default());
        let (got, _, _) = ring.drain(&mut out, &mut overflow, 100);
        assert_eq!(got, vec![b"tail".to_vec(), b"across the end!".to_vec()]);
        assert_eq!(ring.consumer_pos(), end as u64);
    }

    #[test]
    fn max_events_and_a_full_buffer_leave_the_rest_in_the_ring() {
        let mut ring = FakeRing::new();
        let first = ring.write(0, b"a", 0);
        let second = ring.write(first, b"b", 0);
        ring.write(second, b"c", 0);
        let (mut out, mut overflow) = (vec![0u8; 256], Overflow::default());
        let (got, _, _) = ring.drain(&mut out, &mut overflow, 2);
        assert_eq!(got.len(), 2);
        assert_eq!(ring.consumer_pos(), second as u64);
        let mut tiny = vec![0u8; 8];
        let (got, full, need) = ring.drain(&mut tiny, &mut overflow, 100);
        assert!(got.is_empty() && full);
        assert_eq!(need, 16, "the caller is told the size the next record needs");
        assert_eq!(ring.consumer_pos(), second as u64, "a record that does not fit stays in the ring");
    }
}

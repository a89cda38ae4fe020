// The C baseline of bench/consumers.bench.ts: reads the ring the benchmark pinned with libbpf
// (bpf_obj_get + ring_buffer__new), taking per event the sequence number (first u64) and the
// last u64 of aya_node_common::streams::SeqEvent, and counting sequence numbers out of order.
//
//   ring_consumer drain PIN SIZE N   times ring_buffer__consume until N events were read
//   ring_consumer live PIN SIZE      ring_buffer__poll until SIGUSR1, then empties the ring
//   ring_consumer drain-copy PIN SIZE N   no libbpf loop: copies each run of records (at most
//                                    4096) out of the ring into a 1 MiB buffer, hands the space
//                                    back, then reads the copy; what aya-node's reader does,
//                                    written in C, to show what one copy costs by itself
// Prints "ready" on stderr once the ring is open, the result as JSON on stdout (elapsed and
// process CPU time of the reading loop).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static size_t event_size;
static unsigned long long events, out_of_order, expected, sum;

static void on_stop(int sig) { (void)sig; stop = 1; }

static int on_event(void *ctx, void *data, size_t size) {
  (void)ctx;
  if (size < event_size) return -EINVAL;
  unsigned long long seq, last;
  memcpy(&seq, data, 8);
  memcpy(&last, (char *)data + event_size - 8, 8);
  if (seq != expected) out_of_order++;
  expected = seq + 1;
  sum += last;
  events++;
  return 0;
}

static long long clock_ns(clockid_t clock) {
  struct timespec t;
  clock_gettime(clock, &t);
  return t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* The kernel's record header bits (BPF_RINGBUF_BUSY_BIT, BPF_RINGBUF_DISCARD_BIT). */
#define BUSY_BIT (1u << 31)
#define DISCARD_BIT (1u << 30)

static unsigned long *copy_consumer;
static const char *copy_producer, *copy_ring;
static size_t copy_mask;

/* Maps the ring for drain_copy (before the clock starts, as ring_buffer__new maps it for the others). */
static int map_ring(int fd) {
  struct bpf_map_info info = {0};
  __u32 len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0) return -1;
  size_t size = info.max_entries, page = (size_t)sysconf(_SC_PAGESIZE);
  void *consumer = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  void *producer = mmap(NULL, page + 2 * size, PROT_READ, MAP_SHARED, fd, page);
  if (consumer == MAP_FAILED || producer == MAP_FAILED) return -1;
  copy_consumer = consumer;
  copy_producer = producer;
  copy_ring = copy_producer + page; /* mapped twice back to back: a run never wraps */
  copy_mask = size - 1;
  return 0;
}

static int drain_copy(unsigned long long n) {
  static char copy[1 << 20];
  while (events < n) {
    unsigned long start = __atomic_load_n(copy_consumer, __ATOMIC_ACQUIRE);
    unsigned long end = __atomic_load_n((const unsigned long *)copy_producer, __ATOMIC_ACQUIRE), pos = start;
    for (int k = 0; pos != end && k < 4096; k++) {
      unsigned int header = __atomic_load_n((const unsigned int *)(copy_ring + (pos & copy_mask)), __ATOMIC_ACQUIRE);
      if (header & BUSY_BIT) break;
      if (header & DISCARD_BIT) {
        fprintf(stderr, "drain-copy: a discarded record (the bench's producers never discard)\n");
        return -1;
      }
      unsigned long next = pos + 8 + ((header + 7) & ~7u);
      if (next - start > sizeof(copy)) break;
      pos = next;
    }
    memcpy(copy, copy_ring + (start & copy_mask), pos - start);
    __atomic_store_n(copy_consumer, pos, __ATOMIC_RELEASE);
    for (size_t at = 0; at < pos - start;) {
      unsigned int record;
      memcpy(&record, copy + at, 4);
      on_event(NULL, copy + at + 8, record);
      at += 8 + ((record + 7) & ~7u);
    }
  }
  return 0;
}

int main(int argc, char **argv) {
  int copy = argc == 5 && strcmp(argv[1], "drain-copy") == 0;
  int drain = copy || (argc == 5 && strcmp(argv[1], "drain") == 0);
  if (!drain && !(argc == 4 && strcmp(argv[1], "live") == 0)) {
    fprintf(stderr, "usage: ring_consumer drain|drain-copy PIN SIZE N | live PIN SIZE\n");
    return 2;
  }
  event_size = strtoul(argv[3], NULL, 10);
  unsigned long long n = drain ? strtoull(argv[4], NULL, 10) : 0;
  if (event_size < 16) return 2;
  signal(SIGUSR1, on_stop);
  int fd = bpf_obj_get(argv[2]);
  if (fd < 0) {
    fprintf(stderr, "bpf_obj_get %s: %s\n", argv[2], strerror(errno));
    return 1;
  }
  struct ring_buffer *rb = ring_buffer__new(fd, on_event, NULL, NULL);
  if (!rb) {
    fprintf(stderr, "ring_buffer__new: %s\n", strerror(errno));
    return 1;
  }
  if (copy && map_ring(fd) < 0) {
    fprintf(stderr, "mapping the ring: %s\n", strerror(errno));
    return 1;
  }
  fprintf(stderr, "ready\n");
  long long start = clock_ns(CLOCK_MONOTONIC), cpu_start = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
  if (copy) {
    if (drain_copy(n) < 0) return 1;
  } else if (drain) {
    while (events < n) {
      int err = ring_buffer__consume(rb);
      if (err < 0) {
        fprintf(stderr, "ring_buffer__consume: %d\n", err);
        return 1;
      }
    }
  } else {
    while (!stop) {
      int err = ring_buffer__poll(rb, 100);
      if (err < 0 && err != -EINTR) {
        fprintf(stderr, "ring_buffer__poll: %d\n", err);
        return 1;
      }
    }
    // SIGUSR1 comes after the producer ended: what is in the ring now is all there will be.
    while (ring_buffer__consume(rb) > 0) {
    }
  }
  long long ns = clock_ns(CLOCK_MONOTONIC) - start, cpu_ns = clock_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu_start;
  printf("{\"events\":%llu,\"ns\":%lld,\"cpuNs\":%lld,\"outOfOrder\":%llu,\"sum\":%llu}\n", events, ns, cpu_ns, out_of_order, sum);
  ring_buffer__free(rb);
  return 0;
}

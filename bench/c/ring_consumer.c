// The C baseline of bench/consumers.bench.ts: reads the ring the benchmark pinned with libbpf
// (bpf_obj_get + ring_buffer__new), taking per event the sequence number (first u64) and the
// last u64 of aya_node_common::streams::SeqEvent, and counting sequence numbers out of order.
//
//   ring_consumer drain PIN SIZE N   times ring_buffer__consume until N events were read
//   ring_consumer live PIN SIZE      ring_buffer__poll until SIGUSR1, then empties the ring
// Prints "ready" on stderr once the ring is open, the result as JSON on stdout (elapsed and
// process CPU time of the reading loop).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

int main(int argc, char **argv) {
  int drain = argc == 5 && strcmp(argv[1], "drain") == 0;
  if (!drain && !(argc == 4 && strcmp(argv[1], "live") == 0)) {
    fprintf(stderr, "usage: ring_consumer drain PIN SIZE N | live PIN SIZE\n");
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
  fprintf(stderr, "ready\n");
  long long start = clock_ns(CLOCK_MONOTONIC), cpu_start = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
  if (drain) {
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

// The live producer of bench/consumers.bench.ts: test-runs the pinned socket-filter producer
// (one event per run) with BPF_PROG_TEST_RUN, 1000 runs a call, until N runs: as fast as it can,
// or at RATE runs a second (sleeping whenever it is ahead of that schedule).
//   ring_producer PROG_PIN N [RATE]     prints {"runs","ns"} on stdout
#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv) {
  if (argc != 3 && argc != 4) {
    fprintf(stderr, "usage: ring_producer PROG_PIN N [RATE]\n");
    return 2;
  }
  unsigned long long n = strtoull(argv[2], NULL, 10), runs = 0;
  double rate = argc == 4 ? strtod(argv[3], NULL) : 0;
  int fd = bpf_obj_get(argv[1]);
  if (fd < 0) {
    fprintf(stderr, "bpf_obj_get %s: %s\n", argv[1], strerror(errno));
    return 1;
  }
  // A socket filter's test run needs at least an Ethernet header.
  unsigned char packet[64] = {0};
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  while (runs < n) {
    unsigned long long batch = n - runs < 1000 ? n - runs : 1000;
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet, .data_size_in = sizeof(packet), .repeat = (int)batch);
    if (bpf_prog_test_run_opts(fd, &opts)) {
      fprintf(stderr, "bpf_prog_test_run_opts: %s\n", strerror(errno));
      return 1;
    }
    runs += batch;
    if (rate > 0) {
      // When the next call is due: t0 + runs / rate.
      long long due = (long long)(runs / rate * 1e9);
      struct timespec at = {t0.tv_sec + (t0.tv_nsec + due) / 1000000000LL, (t0.tv_nsec + due) % 1000000000LL};
      while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) == EINTR) {
      }
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  long long ns = (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
  printf("{\"runs\":%llu,\"ns\":%lld}\n", runs, ns);
  return 0;
}

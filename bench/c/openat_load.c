// Workload for bench/service-rate.bench.ts: calls openat on a missing path RATE times a second
// for SECONDS seconds, paced against the monotonic clock, under the comm "ayaload" (what every
// consumer filters on). After each call it writes one byte to each FD given (the bare-Node floors
// are woken through those pipes). Prints how many calls it made.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 3 || argc - 3 > 8) {
    fprintf(stderr, "usage: openat_load RATE SECONDS [FD...] (at most 8 FDs)\n");
    return 2;
  }
  long rate = atol(argv[1]);
  double seconds = atof(argv[2]);
  int fds[8];
  int nfds = argc - 3;
  for (int k = 0; k < nfds; k++) {
    fds[k] = atoi(argv[3 + k]);
    // Node made the pipe non-blocking: a floor that falls behind must slow us, not fail a write.
    fcntl(fds[k], F_SETFL, fcntl(fds[k], F_GETFL) & ~O_NONBLOCK);
  }
  if (rate <= 0 || seconds <= 0) return 2;
  prctl(PR_SET_NAME, "ayaload");
  long total = (long)(rate * seconds);
  long long step_ns = 1000000000LL / rate;
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (long i = 0; i < total; i++) {
    long long at = (long long)start.tv_sec * 1000000000LL + start.tv_nsec + i * step_ns;
    struct timespec due = {at / 1000000000LL, at % 1000000000LL};
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL);
    syscall(SYS_openat, AT_FDCWD, "/nonexistent/aya-node-bench", O_RDONLY);
    for (int k = 0; k < nfds; k++) {
      if (write(fds[k], "", 1) != 1) {
        perror("write");
        return 1;
      }
    }
  }
  printf("%ld\n", total);
  return 0;
}

// Workload for bench/service-rate.bench.ts: calls openat on a missing path RATE times a second
// for SECONDS seconds, paced against the monotonic clock, under the comm "ayaload" (what every
// consumer filters on). Prints how many calls it made.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 3 && argc != 4) {
    fprintf(stderr, "usage: openat_load RATE SECONDS [FD]\n");
    return 2;
  }
  long rate = atol(argv[1]);
  double seconds = atof(argv[2]);
  int fd = argc == 4 ? atoi(argv[3]) : -1;
  if (rate <= 0 || seconds <= 0) return 2;
  // Node made the pipe non-blocking: a floor that falls behind must slow us, not fail a write.
  if (fd >= 0) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
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
    if (fd >= 0 && write(fd, "", 1) != 1) {
      perror("write");
      return 1;
    }
  }
  printf("%ld\n", total);
  return 0;
}

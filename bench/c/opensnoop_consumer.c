// The C baseline of bench/service-rate.bench.ts: loads opensnoop.bpf.o with libbpf, filters on
// the comm given as argv[2], and consumes the ring with ring_buffer__poll, reading each event's
// fields as the aya-node consumer decodes them. Prints "ready" on stderr once attached, and the
// number of events it saw on stdout when it gets SIGTERM.
#include <bpf/libbpf.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

struct open_event {
  unsigned int pid, tid, uid;
  int flags, retval;
  unsigned int mode;
  char comm[16];
  char path[256];
};

static volatile sig_atomic_t stop;
static unsigned long long seen, checksum;

static void on_term(int sig) { (void)sig; stop = 1; }

static int on_event(void *ctx, void *data, size_t size) {
  (void)ctx;
  const struct open_event *e = data;
  if (size < sizeof(*e)) return 0;
  seen++;
  checksum += e->pid + (unsigned int)e->retval + strnlen(e->comm, 16) + strnlen(e->path, 256);
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: opensnoop_consumer OBJECT COMM\n");
    return 2;
  }
  signal(SIGTERM, on_term);
  signal(SIGINT, on_term);
  struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
  if (!obj) return 1;
  struct bpf_map *rodata = bpf_object__find_map_by_name(obj, ".rodata");
  char comm[16] = {0};
  strncpy(comm, argv[2], 15);
  if (!rodata || bpf_map__set_initial_value(rodata, comm, sizeof(comm))) {
    fprintf(stderr, "cannot set the comm filter\n");
    return 1;
  }
  if (bpf_object__load(obj)) return 1;
  struct bpf_program *prog;
  bpf_object__for_each_program(prog, obj) {
    if (!bpf_program__attach(prog)) return 1;
  }
  struct ring_buffer *rb = ring_buffer__new(bpf_map__fd(bpf_object__find_map_by_name(obj, "events")), on_event, NULL, NULL);
  if (!rb) return 1;
  fprintf(stderr, "ready\n");
  while (!stop) {
    int err = ring_buffer__poll(rb, 100);
    if (err < 0 && err != -4) break;
  }
  ring_buffer__consume(rb);
  printf("%llu %llu\n", seen, checksum);
  return 0;
}

// The bundled opensnoop (ebpf/programs/src/bin/opensnoop.rs) written in C for libbpf, so that
// bench/service-rate.bench.ts can put a C consumer beside aya-node on the same events: one
// 296-byte event per openat, emitted at its exit into a 1 MiB ring, filtered by comm.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define COMM_LEN 16
#define PATH_LEN 256

struct open_event {
  __u32 pid, tid, uid;
  __s32 flags, retval;
  __u32 mode;
  char comm[COMM_LEN];
  char path[PATH_LEN];
};

/* tracefs events/syscalls/sys_enter_openat/format and sys_exit_openat/format */
struct enter_openat {
  __u64 common;
  __s32 nr, pad;
  __u64 dfd;
  const char *filename;
  __u64 flags, mode;
};
struct exit_openat {
  __u64 common;
  __s32 nr, pad;
  __s64 ret;
};

const volatile char filter_comm[COMM_LEN] = {};

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 1 << 20);
} events SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct open_event);
} scratch SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 10240);
  __type(key, __u32);
  __type(value, struct open_event);
} pending SEC(".maps");

static int wanted(const char *comm) {
  for (int i = 0; i < COMM_LEN; i++) {
    if (comm[i] != filter_comm[i]) return 0;
    if (comm[i] == 0) break;
  }
  return 1;
}

SEC("tracepoint/syscalls/sys_enter_openat")
int enter_openat(struct enter_openat *ctx) {
  __u32 zero = 0;
  struct open_event *e = bpf_map_lookup_elem(&scratch, &zero);
  if (!e) return 0;
  __u64 pid_tgid = bpf_get_current_pid_tgid();
  e->pid = pid_tgid >> 32;
  e->tid = (__u32)pid_tgid;
  e->uid = (__u32)bpf_get_current_uid_gid();
  bpf_get_current_comm(e->comm, COMM_LEN);
  if (!wanted(e->comm)) return 0;
  e->flags = (__s32)ctx->flags;
  e->mode = (__u32)ctx->mode;
  e->retval = 0;
  e->path[0] = 0;
  bpf_probe_read_user_str(e->path, PATH_LEN, ctx->filename);
  bpf_map_update_elem(&pending, &e->tid, e, BPF_ANY);
  return 0;
}

SEC("tracepoint/syscalls/sys_exit_openat")
int exit_openat(struct exit_openat *ctx) {
  __u32 tid = (__u32)bpf_get_current_pid_tgid();
  struct open_event *e = bpf_map_lookup_elem(&pending, &tid);
  if (!e) return 0;
  e->retval = (__s32)ctx->ret;
  bpf_ringbuf_output(&events, e, sizeof(*e), 0);
  bpf_map_delete_elem(&pending, &tid);
  return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";

// Maps whose sizes the loader sets, the way libbpf-tools' profile, offcputime and wakeuptime
// declare their stack-trace map: no value_size (nor max_entries) in the object; user space
// sets them before load (bpf_map__set_value_size / bpf_map__set_max_entries).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__type(key, u32);
} stackmap SEC(".maps");

/* A hash whose key and value sizes and flags the loader may change (libbpf allows it). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, u32);
	__type(value, u64);
} sized SEC(".maps");

const volatile __u32 target_tgid = 0;

/* The last user stack id seen for this process (-errno on failure). */
__s64 last_stack_id = 0;

SEC("tracepoint/syscalls/sys_enter_getppid")
int sample_stack(void *ctx)
{
	if ((bpf_get_current_pid_tgid() >> 32) != target_tgid)
		return 0;
	last_stack_id = bpf_get_stackid(ctx, &stackmap, BPF_F_USER_STACK);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

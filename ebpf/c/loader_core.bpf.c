// A libbpf-style C program, built with `clang -target bpf` by the loader tests, to show that
// aya-node loads objects from C the same way: a BTF-defined map in ".maps", a `const volatile`
// global in .rodata set before load, and a CO-RE read of `task_struct.tgid` relocated against
// the running kernel's BTF.
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} c_counts SEC(".maps");

/*
 * A local view of task_struct with `tgid` at a made-up offset (12). The "___local" flavour
 * matches the kernel's task_struct by name, so the CO-RE relocation must rewrite the offset
 * to the running kernel's; without it the program would read the wrong field.
 */
struct task_struct___local {
	int __pad[3];
	int tgid;
} __attribute__((preserve_access_index));

/* Only count calls from this process (0: all). */
const volatile __u32 target_tgid = 0;

SEC("tracepoint/syscalls/sys_enter_getppid")
int count_getppid(void *ctx)
{
	struct task_struct___local *task = (void *)bpf_get_current_task();
	__u32 tgid = BPF_CORE_READ(task, tgid);
	__u64 one = 1, *count;

	if (target_tgid && tgid != target_tgid)
		return 0;
	count = bpf_map_lookup_elem(&c_counts, &tgid);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&c_counts, &tgid, &one, BPF_ANY);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

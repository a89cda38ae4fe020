// CO-RE reads of an element of a flexible array member, the way libbpf-tools' syscall tools
// (execsnoop, opensnoop, statsnoop, mountsnoop, futexctn) read a syscall's arguments:
// `ctx->args[i]` of `struct syscall_trace_enter`, whose `args[]` has no length.
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

/* Only look at calls from this process. */
const volatile __u32 target_tgid = 0;

/* What the programs saw: the mode argument of fchmod(fd, mode), read two ways. */
__u64 seen_mode = 0;
__u64 seen_mode_local = 0;
__u64 seen_fd = 0;

/*
 * A local view of the tracepoint context with `args` at a made-up offset: the
 * "___local" flavour matches the kernel's struct by name, so the program reads the
 * argument only if the loader relocated `args[1]` against the kernel's BTF.
 */
struct syscall_trace_enter___local {
	struct trace_entry ent;
	int __pad[5];
	int nr;
	unsigned long args[];
} __attribute__((preserve_access_index));

static __always_inline int mine(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == target_tgid;
}

SEC("tracepoint/syscalls/sys_enter_fchmod")
int fchmod_args(struct syscall_trace_enter *ctx)
{
	if (!mine())
		return 0;
	seen_fd = ctx->args[0];
	seen_mode = ctx->args[1];
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_fchmod")
int fchmod_args_local(struct syscall_trace_enter___local *ctx)
{
	if (!mine())
		return 0;
	seen_mode_local = BPF_CORE_READ(ctx, args[1]);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

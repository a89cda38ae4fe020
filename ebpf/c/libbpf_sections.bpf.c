// Programs in the section names libbpf gives them and Aya 0.14 does not know: `tc`, and
// `ksyscall`/`kretsyscall` written with bpf_tracing.h's BPF_KSYSCALL, as libbpf-tools do.
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define TC_ACT_OK 0
#define TC_ACT_SHOT 2

/* Drops packets of exactly 99 bytes, passes the rest. */
SEC("tc")
int tc_drop_99(struct __sk_buff *skb)
{
	return skb->len == 99 ? TC_ACT_SHOT : TC_ACT_OK;
}

__u64 ksyscall_calls = 0;
long last_ret = 0;

SEC("ksyscall/kill")
int BPF_KSYSCALL(on_kill, pid_t pid, int sig)
{
	if (sig == 0)
		__sync_fetch_and_add(&ksyscall_calls, 1);
	return 0;
}

SEC("kretsyscall/kill")
int BPF_KRETPROBE(on_kill_ret, long ret)
{
	last_ret = ret;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

// Program types Aya 0.14 has no class for: a BPF_PROG_TYPE_SYSCALL program (run from user
// space with a test run; its context is a buffer the caller passes) and a struct_ops
// program with its `.struct_ops` map (a TCP congestion control, as libbpf's examples write it).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct add_args {
	__u64 a;
	__u64 b;
	__u64 sum;
};

__u64 calls = 0;

/* Adds a and b into sum (in the caller's context buffer) and counts its runs. */
SEC("syscall")
int add(struct add_args *args)
{
	args->sum = args->a + args->b;
	calls++;
	return args->a > args->b ? 1 : 0;
}

SEC("struct_ops/aya_node_cc_ssthresh")
__u32 BPF_PROG(aya_node_cc_ssthresh, struct sock *sk)
{
	return 10;
}

SEC("struct_ops/aya_node_cc_undo_cwnd")
__u32 BPF_PROG(aya_node_cc_undo_cwnd, struct sock *sk)
{
	return 10;
}

SEC("struct_ops/aya_node_cc_cong_avoid")
void BPF_PROG(aya_node_cc_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
}

SEC(".struct_ops")
struct tcp_congestion_ops aya_node_cc = {
	.ssthresh = (void *)aya_node_cc_ssthresh,
	.undo_cwnd = (void *)aya_node_cc_undo_cwnd,
	.cong_avoid = (void *)aya_node_cc_cong_avoid,
	.name = "aya_node_cc",
};

char LICENSE[] SEC("license") = "GPL";

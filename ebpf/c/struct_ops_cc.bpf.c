// A TCP congestion control written the way libbpf's examples (tcp_ca, bpf_cubic) write one:
// Reno through the kernel's own kfuncs, with counters that show which callbacks the kernel
// ran. Two struct_ops variables share the programs: `reno_link` in `.struct_ops.link`
// (registered through a BPF link) and `reno_map` in `.struct_ops` (libbpf registers it with a
// map update). `name` is the algorithm's name (at most 15 characters); the tests register
// them under names of their own (`register({ members: { name } })`).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

/* include/net/tcp.h: a network namespace other than the first may choose the algorithm as its
 * default (the sysctl) only with this flag; it also lists it in tcp_allowed_congestion_control.
 * Without it that sysctl fails with EPERM, and Linux 6.18 then keeps a reference to the
 * algorithm: its struct_ops map is never freed. */
#define TCP_CONG_NON_RESTRICTED 0x1

extern void tcp_reno_cong_avoid(struct sock *sk, __u32 ack, __u32 acked) __ksym;
extern __u32 tcp_reno_ssthresh(struct sock *sk) __ksym;
extern __u32 tcp_reno_undo_cwnd(struct sock *sk) __ksym;

/* How many times the kernel called each callback. */
__u64 inits = 0;
__u64 cong_avoids = 0;
__u64 ssthreshs = 0;
__u64 undos = 0;

SEC("struct_ops/reno_init")
void BPF_PROG(reno_init, struct sock *sk)
{
	__sync_fetch_and_add(&inits, 1);
}

SEC("struct_ops/reno_cong_avoid")
void BPF_PROG(reno_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
	__sync_fetch_and_add(&cong_avoids, 1);
	tcp_reno_cong_avoid(sk, ack, acked);
}

SEC("struct_ops/reno_ssthresh")
__u32 BPF_PROG(reno_ssthresh, struct sock *sk)
{
	__sync_fetch_and_add(&ssthreshs, 1);
	return tcp_reno_ssthresh(sk);
}

SEC("struct_ops/reno_undo_cwnd")
__u32 BPF_PROG(reno_undo_cwnd, struct sock *sk)
{
	__sync_fetch_and_add(&undos, 1);
	return tcp_reno_undo_cwnd(sk);
}

SEC(".struct_ops.link")
struct tcp_congestion_ops reno_link = {
	.init = (void *)reno_init,
	.cong_avoid = (void *)reno_cong_avoid,
	.ssthresh = (void *)reno_ssthresh,
	.undo_cwnd = (void *)reno_undo_cwnd,
	.name = "aya_reno_link",
	.flags = TCP_CONG_NON_RESTRICTED,
};

SEC(".struct_ops")
struct tcp_congestion_ops reno_map = {
	.init = (void *)reno_init,
	.cong_avoid = (void *)reno_cong_avoid,
	.ssthresh = (void *)reno_ssthresh,
	.undo_cwnd = (void *)reno_undo_cwnd,
	.name = "aya_reno_map",
	.flags = TCP_CONG_NON_RESTRICTED,
};

char LICENSE[] SEC("license") = "GPL";

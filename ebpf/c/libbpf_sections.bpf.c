// Programs in the section names libbpf gives them and Aya 0.14 does not know: `tc`, and
// `ksyscall`/`kretsyscall` written with bpf_tracing.h's BPF_KSYSCALL, as libbpf-tools do.
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define ETH_P_IP 0x0800
#define IPPROTO_UDP 17

/* The UDP destination port to drop (set before load). */
const volatile __u16 drop_port = 0;

/* Drops IPv4 UDP packets to drop_port, passes the rest (libbpf-bootstrap's tc example style). */
SEC("tc")
int tc_drop_port(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	struct udphdr *udp = (void *)ip + sizeof(*ip);

	if ((void *)(udp + 1) > data_end)
		return TC_ACT_OK;
	if (eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5 || ip->protocol != IPPROTO_UDP)
		return TC_ACT_OK;
	return udp->dest == bpf_htons(drop_port) ? TC_ACT_SHOT : TC_ACT_OK;
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

// A USDT program written with libbpf's usdt.bpf.h (argument specs in libbpf's maps, found
// through the attach cookie), as libbpf-tools' javagc/pythoncalls-style tools do.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/usdt.bpf.h>

__u64 usdt_hits = 0;
long usdt_first_arg = 0;

SEC("usdt")
int BPF_USDT(on_probe, long arg)
{
	__sync_fetch_and_add(&usdt_hits, 1);
	usdt_first_arg = arg;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

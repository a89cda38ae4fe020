// Weak kfuncs, as libbpf-based tools use them to run on kernels with and without a kfunc:
// `extern ... __ksym __weak` and a `bpf_ksym_exists()` guard. One kfunc this kernel has
// (bpf_task_from_pid) and one no kernel has; the program reports which exist and calls the
// one that does.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

/* libbpf >= 1.2 defines it (Debian's 1.1 does not): a weak extern's address, 0 when absent. */
#ifndef bpf_ksym_exists
#define bpf_ksym_exists(sym) ({ _Static_assert(!__builtin_constant_p(!!sym), #sym " should be marked as __weak"); !!sym; })
#endif

extern struct task_struct *bpf_task_from_pid(s32 pid) __ksym __weak;
extern void bpf_task_release(struct task_struct *p) __ksym __weak;
extern int aya_node_absent_kfunc(struct task_struct *p, int x) __ksym __weak;

const volatile __u32 target_tgid = 0;

struct seen {
	__u64 present_exists;
	__u64 absent_exists;
	__u64 found_task;
	__u64 absent_called;
};
struct seen seen = {};

/* Returns 1 + 2 * (absent kfunc exists) + 4 * (present kfunc found the task). */
SEC("classifier")
int weak_kfuncs(struct __sk_buff *skb)
{
	int verdict = 1;

	seen.present_exists = bpf_ksym_exists(bpf_task_from_pid);
	seen.absent_exists = bpf_ksym_exists(aya_node_absent_kfunc);
	if (bpf_ksym_exists(aya_node_absent_kfunc)) {
		/* Dead code on this kernel: the verifier never sees the poisoned call. */
		seen.absent_called = aya_node_absent_kfunc(0, 1);
		verdict |= 2;
	}
	if (bpf_ksym_exists(bpf_task_from_pid)) {
		struct task_struct *task = bpf_task_from_pid(target_tgid);

		if (task) {
			seen.found_task = 1;
			verdict |= 4;
			bpf_task_release(task);
		}
	}
	return verdict;
}

/* Calls the absent kfunc without a guard: refused by the verifier, as under libbpf. */
SEC("classifier")
int unguarded(struct __sk_buff *skb)
{
	return aya_node_absent_kfunc(0, 1);
}

char LICENSE[] SEC("license") = "GPL";

// `.kconfig` and `.ksyms` externs, the way libbpf-tools and libbpf-bootstrap use them: the
// kernel version and config options read at load, a kernel symbol's address, and typed
// ksyms (per-CPU kernel variables reached through their BTF ids).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

extern int LINUX_KERNEL_VERSION __kconfig;
extern bool LINUX_HAS_SYSCALL_WRAPPER __kconfig;
extern bool CONFIG_BPF_SYSCALL __kconfig;
extern int CONFIG_HZ __kconfig __weak;
extern enum libbpf_tristate CONFIG_BPF_JIT __kconfig __weak;
extern char CONFIG_LOCALVERSION[16] __kconfig __weak;
extern bool CONFIG_AYA_NODE_NO_SUCH_OPTION __kconfig __weak;

/* A kernel function's address, from /proc/kallsyms. */
extern const void schedule __ksym;
/* A weak ksym the kernel does not have: 0. */
extern const void aya_node_no_such_symbol __ksym __weak;
/* Typed ksyms: per-CPU kernel variables, through their BTF ids. */
extern const struct rq runqueues __ksym;
extern const int bpf_prog_active __ksym;

/* A kfunc, called through its BTF id. */
extern struct task_struct *bpf_task_from_pid(s32 pid) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;

const volatile __u32 target_tgid = 0;

struct seen {
	__u64 version;
	__u64 has_wrapper;
	__u64 bpf_syscall;
	__u64 hz;
	__u64 jit;
	__u64 missing;
	__u64 schedule_addr;
	__u64 missing_addr;
	char localversion[16];
} seen = {};

/* What the per-CPU ksyms showed: 1 when runqueues of this CPU says this CPU. */
__s64 rq_is_this_cpu = 0;
__s64 prog_active = -1;

SEC("tracepoint/syscalls/sys_enter_getppid")
int read_kconfig(void *ctx)
{
	if ((bpf_get_current_pid_tgid() >> 32) != target_tgid)
		return 0;
	seen.version = LINUX_KERNEL_VERSION;
	seen.has_wrapper = LINUX_HAS_SYSCALL_WRAPPER;
	seen.bpf_syscall = CONFIG_BPF_SYSCALL;
	seen.hz = CONFIG_HZ;
	seen.jit = CONFIG_BPF_JIT;
	seen.missing = CONFIG_AYA_NODE_NO_SUCH_OPTION;
	seen.schedule_addr = (__u64)&schedule;
	seen.missing_addr = (__u64)&aya_node_no_such_symbol;
	__builtin_memcpy(seen.localversion, CONFIG_LOCALVERSION, sizeof(seen.localversion));
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int read_percpu_ksyms(void *ctx)
{
	struct rq *rq;
	int *active;

	if ((bpf_get_current_pid_tgid() >> 32) != target_tgid)
		return 0;
	rq = bpf_this_cpu_ptr(&runqueues);
	rq_is_this_cpu = rq->cpu == bpf_get_smp_processor_id() ? 1 : -1;
	active = bpf_per_cpu_ptr(&bpf_prog_active, 0);
	prog_active = active ? *active : -2;
	return 0;
}

/* Returns 1 when the task target_tgid exists (found through the kfunc), else 0. */
SEC("classifier")
int find_task(struct __sk_buff *skb)
{
	struct task_struct *task = bpf_task_from_pid(target_tgid);

	if (!task)
		return 0;
	bpf_task_release(task);
	return 1;
}

char LICENSE[] SEC("license") = "GPL";

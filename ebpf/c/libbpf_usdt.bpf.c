// USDT programs written with libbpf's usdt.bpf.h, as libbpf-tools' javagc and BCC-style
// pythoncalls tools are: BPF_USDT() handlers whose arguments bpf_usdt_arg() reads through
// libbpf's spec maps, found by the attach cookie. Each hit is one ring-buffer event that also
// says what the loader put in those maps for the site.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

/* Only this process (0: every process the attachment covers). */
const volatile __u32 target_tgid = 0;

struct usdt_event {
	__u32 pid;
	__s32 arg_cnt;     /* bpf_usdt_arg_cnt() */
	__s64 line;        /* the line number, or gc__start's generation */
	__u64 usdt_cookie; /* bpf_usdt_cookie(): what the attach call was given */
	__u64 spec_id;     /* bpf_get_attach_cookie(): the spec id the loader chose */
	__s64 ip_spec_id;  /* __bpf_usdt_ip_to_spec_id[instruction address], -1 when absent */
	__s32 past_end;    /* bpf_usdt_arg() one past the last argument (-ENOENT) */
	__u32 tag;         /* 1 python call, 2 gc__start, 3 any probe */
	char func[64];
	char file[96];
	__s64 arg1;        /* any probe: its second argument */
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} usdt_events SEC(".maps");

static __always_inline struct usdt_event *begin(struct pt_regs *ctx, __u32 tag)
{
	struct usdt_event *e;
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	long ip = PT_REGS_IP(ctx), past;
	__u32 *by_ip;

	if (target_tgid && pid != target_tgid)
		return NULL;
	e = bpf_ringbuf_reserve(&usdt_events, sizeof(*e), 0);
	if (!e)
		return NULL;
	__builtin_memset(e, 0, sizeof(*e));
	e->pid = pid;
	e->tag = tag;
	e->arg_cnt = bpf_usdt_arg_cnt(ctx);
	e->usdt_cookie = bpf_usdt_cookie(ctx);
	e->spec_id = bpf_get_attach_cookie(ctx);
	by_ip = bpf_map_lookup_elem(&__bpf_usdt_ip_to_spec_id, &ip);
	e->ip_spec_id = by_ip ? (__s64)*by_ip : -1;
	e->past_end = bpf_usdt_arg(ctx, e->arg_cnt < 0 ? 0 : e->arg_cnt, &past);
	return e;
}

/* python:function__entry and function__return: (filename, funcname, lineno). */
SEC("usdt")
int BPF_USDT(py_call, const char *file, const char *func, int line)
{
	struct usdt_event *e = begin(ctx, 1);

	if (!e)
		return 0;
	e->line = line;
	bpf_probe_read_user_str(e->func, sizeof(e->func), func);
	bpf_probe_read_user_str(e->file, sizeof(e->file), file);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* python:gc__start: (generation), a signed int on the stack (-4@112(%rsp)). */
SEC("usdt")
int BPF_USDT(py_gc, int generation)
{
	struct usdt_event *e = begin(ctx, 2);

	if (!e)
		return 0;
	e->line = generation;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* Any probe with two arguments or more (libstdcxx:throw: the exception, its typeinfo). */
SEC("usdt")
int BPF_USDT(any_probe, long arg0, long arg1)
{
	struct usdt_event *e = begin(ctx, 3);

	if (!e)
		return 0;
	e->line = arg0;
	e->arg1 = arg1;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

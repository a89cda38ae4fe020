// The C object `aya-node gen` is tested on (__test__/project-gen.test.ts): nested structs,
// arrays of structs, C strings, an enum, padding inside and at the end of structs, a struct
// key, a ring buffer event and a global. The program fills every field with known values.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

enum gen_kind { GEN_KIND_EXEC = 1, GEN_KIND_EXIT = 2, GEN_KIND_NEGATIVE = -3 };

struct gen_point {
	__u16 x;
	__s64 y; /* 6 bytes of padding before */
};

struct gen_inner {
	struct gen_point points[2];
	__u8 flags; /* 7 bytes of padding after */
};

struct gen_event {
	__u32 tgid;
	enum gen_kind kind;
	char comm[16];
	char tag[5];
	__u64 ts; /* 3 bytes of padding before */
	struct gen_inner inner;
	__s32 values[3];
	_Bool ok;
	unsigned char mac[6];
};

struct gen_key {
	__u32 tgid;
	__u16 slot;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} gen_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, struct gen_key);
	__type(value, struct gen_inner);
} gen_last SEC(".maps");

const volatile __u32 target_tgid = 0;

SEC("tracepoint/syscalls/sys_enter_getppid")
int gen_getppid(void *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct gen_event *e;
	struct gen_key key = {};

	if (tgid != target_tgid)
		return 0;
	e = bpf_ringbuf_reserve(&gen_events, sizeof(*e), 0);
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	e->tgid = tgid;
	e->kind = GEN_KIND_NEGATIVE;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	__builtin_memcpy(e->tag, "abcd", 5);
	e->ts = 0x1122334455667788ULL;
	e->inner.points[0].x = 1;
	e->inner.points[0].y = -2;
	e->inner.points[1].x = 65535;
	e->inner.points[1].y = -4000000000LL;
	e->inner.flags = 7;
	e->values[0] = -1;
	e->values[1] = 0;
	e->values[2] = 2147483647;
	e->ok = 1;
	e->mac[0] = 0x02;
	e->mac[5] = 0xab;
	key.tgid = tgid;
	key.slot = 9;
	bpf_map_update_elem(&gen_last, &key, &e->inner, BPF_ANY);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

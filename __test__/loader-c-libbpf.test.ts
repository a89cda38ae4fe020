import test from 'ava';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, fchmodSync, readFileSync, rmSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArrayMap, codec, Ebpf, EbpfError, KProbe, LibbpfUsdt, SchedClassifier, StackTraceMap, StructOps, Syscall, TracePoint, VerifierError } from '../src';
import { buildCObject, buildCSource, cleanupCObjects, cSkipReason } from './c-objects';
import { basePacket, udpFrame } from './loader-packets';
import { udpEchoServer, udpRoundTrip, vethPair } from './programs-helpers';

// C objects that use what libbpf accepts and Aya 0.14 alone does not (issue 15), loaded the
// way libbpf-tools use them, each checked against the running kernel.

if (cSkipReason) console.log(`skip: libbpf-compat C tests: ${cSkipReason}`);
const ctest = cSkipReason ? test.skip : test;
// Serial: the other tests block this worker's event loop while clang runs, which would starve
// the echo server's handshake of a network test.
const ctestSerial = cSkipReason ? test.skip : test.serial;
const scratch = mkdtempSync(join(tmpdir(), 'aya-node-c-compat-'));
test.after.always(() => {
  cleanupCObjects();
  rmSync(scratch, { recursive: true, force: true });
});

const mine = { target_tgid: { codec: codec.u32, value: process.pid } };

ctest('CO-RE reads of a flexible array element (ctx->args[i] of syscall_trace_enter) see the syscall arguments', (t) => {
  using obj = Ebpf.load(buildCObject('core_flex_array'), { globals: mine });
  for (const name of ['fchmod_args', 'fchmod_args_local']) obj.program(name, TracePoint).attach('syscalls', 'sys_enter_fchmod');
  const fd = openSync(join(scratch, 'flex'), 'w');
  try {
    fchmodSync(fd, 0o604);
  } finally {
    closeSync(fd);
  }
  const seen = obj.map('.bss', ArrayMap, codec.struct({ mode: codec.u64, local: codec.u64, fd: codec.u64 })).get(0)!;
  t.is(seen.fd, BigInt(fd), 'args[0] is the fd');
  t.is(seen.mode, 0o604n, 'args[1] is the mode (libbpf-tools style, kernel type)');
  // The ___local flavour puts args at a made-up offset: right only if relocated against the kernel.
  t.is(seen.local, 0o604n, 'args[1] through a flavoured local type is the mode too');
});

ctest('a stack-trace map without value_size loads with valueSize/maxEntries set, like libbpf-tools profile', (t) => {
  const object = buildCObject('map_sizes');
  // Without a value size the kernel refuses the map, as it does under libbpf.
  const refused = t.throws(() => Ebpf.load(object, { globals: mine }));
  t.true(refused instanceof EbpfError, String(refused));
  t.regex(refused!.message, /map `stackmap` declares no value size: set it with the valueSize load option/);

  const depth = 127;
  using obj = Ebpf.load(object, {
    globals: mine,
    valueSize: { stackmap: depth * 8 },
    maxEntries: { stackmap: 1024 },
    keySize: { sized: 8 },
    mapFlags: { sized: 1 /* BPF_F_NO_PREALLOC */ },
  });
  const byName = new Map(obj.maps.map((m) => [m.name, m]));
  t.like(byName.get('stackmap'), { kind: 'stack_trace', keySize: 4, valueSize: depth * 8, maxEntries: 1024 });
  t.like(byName.get('sized'), { kind: 'hash', keySize: 8, valueSize: 8, maxEntries: 16 });
  const shown = JSON.parse(execFileSync('bpftool', ['map', 'show', 'name', 'sized', '-j'], { encoding: 'utf8' }));
  t.true([shown].flat().some((m: { flags: number; bytes_key: number }) => m.flags === 1 && m.bytes_key === 8), 'the kernel has the new flags');

  obj.program('sample_stack', TracePoint).attach('syscalls', 'sys_enter_getppid');
  void process.ppid; // getppid(): the program takes this thread's user stack
  const id = Number(obj.map('.bss', ArrayMap, codec.i64).get(0));
  t.true(id >= 0, `bpf_get_stackid returned ${id}`);
  const frames = obj.map('stackmap', StackTraceMap).get(id) ?? [];
  t.true(frames.length > 1, `frames: ${frames.length}`);
  // Some frame is in node's own code: a real user stack of this process.
  const exe = readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter((l) => l.endsWith(process.execPath) && l.split(/\s+/)[1].includes('x'))
    .map((l) => l.split(/\s+/)[0].split('-').map((h) => BigInt(`0x${h}`)));
  t.true(frames.some((f) => exe.some(([lo, hi]) => f >= lo && f < hi)), 'a frame lies in the node executable');
});

ctest('map size options are checked: unknown map, bad numbers', (t) => {
  const object = buildCObject('map_sizes');
  const missing = t.throws(() => Ebpf.load(object, { globals: mine, valueSize: { nope: 8 } }));
  t.true(missing instanceof EbpfError && missing.code === 'NOT_FOUND', String(missing));
  t.throws(() => Ebpf.load(object, { valueSize: { stackmap: -1 } }), { instanceOf: RangeError, message: /valueSize\.stackmap/ });
  t.throws(() => Ebpf.load(object, { keySize: { sized: '8' as unknown as number } }), { instanceOf: TypeError, message: /keySize\.sized/ });
});

/** This kernel's config as the tests read it themselves (not through the code under test). */
function kernelConfig(): Map<string, string> {
  const release = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  let text: string;
  try {
    text = readFileSync(`/boot/config-${release}`, 'utf8');
  } catch {
    text = gunzipSync(readFileSync('/proc/config.gz')).toString('utf8');
  }
  return new Map(text.split('\n').filter((l) => l.startsWith('CONFIG_')).map((l) => l.split('=', 2) as [string, string]));
}

function kallsyms(name: string): bigint | undefined {
  const line = readFileSync('/proc/kallsyms', 'utf8').split('\n').find((l) => l.endsWith(` ${name}`));
  return line ? BigInt(`0x${line.split(' ')[0]}`) : undefined;
}

const Seen = codec.struct({
  version: codec.u64,
  hasWrapper: codec.u64,
  bpfSyscall: codec.u64,
  hz: codec.u64,
  jit: codec.u64,
  missing: codec.u64,
  schedule: codec.u64,
  missingAddress: codec.u64,
  localVersion: codec.cstring(16),
  rqIsThisCpu: codec.i64,
});

ctest('__kconfig externs read this kernel\'s version and config; __ksym externs resolve (address, kfunc)', (t) => {
  const configReadable = ['/proc/config.gz', `/boot/config-${readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()}`].some((p) => {
    try {
      readFileSync(p);
      return true;
    } catch {
      return false;
    }
  });
  if (!configReadable) {
    t.log('skip: neither /proc/config.gz nor /boot/config-$(uname -r) is readable');
    t.pass();
    return;
  }
  using obj = Ebpf.load(buildCObject('externs'), { globals: mine });
  t.true(obj.maps.some((m) => m.name === '.rodata.kconfig'), 'the kconfig values are a read-only data map');
  obj.program('read_kconfig', TracePoint).attach('syscalls', 'sys_enter_getppid');
  void process.ppid;
  const seen = obj.map('.bss', ArrayMap, Seen).get(0)!;

  const [major, minor, patch] = readFileSync('/proc/sys/kernel/osrelease', 'utf8').split(/[^0-9]+/).map(Number);
  t.is(seen.version, BigInt((major << 16) | (minor << 8) | Math.min(patch, 255)), 'LINUX_KERNEL_VERSION');
  const config = kernelConfig();
  t.is(seen.bpfSyscall, config.get('CONFIG_BPF_SYSCALL') === 'y' ? 1n : 0n, 'CONFIG_BPF_SYSCALL (bool)');
  t.is(seen.hz, BigInt(config.get('CONFIG_HZ') ?? 0), 'CONFIG_HZ (int, weak)');
  t.is(seen.jit, { y: 1n, m: 2n }[config.get('CONFIG_BPF_JIT') ?? 'n'] ?? 0n, 'CONFIG_BPF_JIT (tristate, weak)');
  t.is(seen.missing, 0n, 'a weak option the kernel does not have reads 0');
  t.is(seen.localVersion, (config.get('CONFIG_LOCALVERSION') ?? '""').slice(1, -1).slice(0, 15), 'CONFIG_LOCALVERSION (string)');
  t.is(seen.hasWrapper, kallsyms('__x64_sys_bpf') !== undefined || kallsyms('__arm64_sys_bpf') !== undefined ? 1n : 0n, 'LINUX_HAS_SYSCALL_WRAPPER');
  t.is(seen.schedule, kallsyms('schedule') ?? -1n, 'an untyped ksym is the kernel symbol\'s address');
  t.is(seen.missingAddress, 0n, 'a weak ksym the kernel lacks is 0');

  // A kfunc (typed ksym function): bpf_task_from_pid finds this process, not a pid that cannot exist.
  t.is(obj.program('find_task').testRun({ data: Buffer.alloc(64) }).returnValue, 1, 'bpf_task_from_pid(this pid) found the task');
  using other = Ebpf.load(buildCObject('externs'), { globals: { target_tgid: { codec: codec.u32, value: 0x3fffffff } } });
  t.is(other.program('find_task').testRun({ data: Buffer.alloc(64) }).returnValue, 0, 'and not a pid that does not exist');
});

ctest('typed per-CPU ksyms get their BTF ids; the kernel resolves them only when kallsyms has data symbols', (t) => {
  using obj = Ebpf.load(buildCObject('externs'), { globals: mine });
  const program = obj.program('read_percpu_ksyms', TracePoint);
  if (kallsyms('runqueues') === undefined) {
    // CONFIG_KALLSYMS_ALL is off: the verifier cannot find the variable's address, under libbpf too.
    const err = t.throws(() => program.load());
    t.true(err instanceof EbpfError, String(err));
    t.regex(err!.message + (err instanceof VerifierError ? err.verifierLog : ''), /runqueues/);
    return;
  }
  program.attach('syscalls', 'sys_enter_getppid');
  void process.ppid;
  t.is(obj.map('.bss', ArrayMap, Seen).get(0)!.rqIsThisCpu, 1n, 'runqueues of this CPU names this CPU');
});

ctest('a non-weak extern the kernel lacks is a NOT_FOUND error at load, as under libbpf', (t) => {
  const object = buildCSource('missing_extern', [
    '#include "vmlinux.h"',
    '#include <bpf/bpf_helpers.h>',
    'extern const void aya_node_absent_symbol __ksym;',
    '__u64 out = 0;',
    'SEC("tracepoint/syscalls/sys_enter_getppid") int p(void *ctx) { out = (__u64)&aya_node_absent_symbol; return 0; }',
    'char LICENSE[] SEC("license") = "GPL";',
  ].join('\n'));
  const err = t.throws(() => Ebpf.load(object));
  t.true(err instanceof EbpfError && err.code === 'NOT_FOUND', String(err));
  t.regex(err!.message, /aya_node_absent_symbol/);
});

ctestSerial('SEC("tc") loads as a TC classifier: its verdicts in a test run, and dropping traffic when attached', async (t) => {
  const port = 7011;
  using obj = Ebpf.load(buildCObject('libbpf_sections'), { globals: { drop_port: { codec: codec.u16, value: port } } });
  const tc = obj.program('tc_drop_port', SchedClassifier);
  t.is(tc.section, 'tc', 'the section is reported as written');
  t.is(tc.testRun({ data: udpFrame({ ...basePacket, dstPort: port }) }).returnValue, 2, 'TC_ACT_SHOT for the port');
  t.is(tc.testRun({ data: udpFrame({ ...basePacket, dstPort: port + 1 }) }).returnValue, 0, 'TC_ACT_OK otherwise');

  const net = vethPair(t);
  await udpEchoServer(t, net.nsB, net.addrB, [port, port + 1]);
  t.true(await udpRoundTrip(net.nsA, net.addrB, port), 'reachable before attaching');
  const link = tc.attach(net.ifB, { direction: 'ingress', netns: net.netnsB });
  t.false(await udpRoundTrip(net.nsA, net.addrB, port), 'dropped while attached');
  t.true(await udpRoundTrip(net.nsA, net.addrB, port + 1), 'the other port passes');
  link.detach();
  t.true(await udpRoundTrip(net.nsA, net.addrB, port), 'flows again after detach');
});

ctest('SEC("ksyscall/NAME") and kretsyscall load as kprobes on the syscall; attach needs kprobes', (t) => {
  using obj = Ebpf.load(buildCObject('libbpf_sections'), { globals: {} });
  const entry = obj.program('on_kill', KProbe);
  const exit = obj.program('on_kill_ret', KProbe);
  t.is(entry.section, 'ksyscall/kill');
  t.is(exit.section, 'kretsyscall/kill');
  entry.load();
  exit.load();
  t.true(entry.loaded && exit.loaded, 'the kernel verified both');
  const wrapper = readFileSync('/proc/kallsyms', 'utf8').includes(' __x64_sys_kill\n') ? '__x64_sys_kill' : 'sys_kill';
  const reason = KProbe.unsupportedReason();
  if (reason) {
    const err = t.throws(() => entry.attach(wrapper));
    t.true(err instanceof EbpfError && err.code === 'UNSUPPORTED', String(err));
    t.true(err!.message.includes(reason), `${err!.message} carries the probed reason: ${reason}`);
    return;
  }
  entry.attach(wrapper);
  exit.attach(wrapper);
  process.kill(process.pid, 0);
  t.true((obj.map('.bss', ArrayMap, codec.struct({ calls: codec.u64, ret: codec.i64 })).get(0)?.calls ?? 0n) >= 1n);
});

ctest('SEC("usdt") (libbpf usdt.bpf.h) loads as a uprobe program with libbpf\'s USDT maps (attaching: libbpf-usdt.test.ts)', (t) => {
  using obj = Ebpf.load(buildCObject('libbpf_usdt'));
  t.deepEqual(obj.programs.map((p) => [p.name, p.kind]).sort(), [['any_probe', 'usdt'], ['py_call', 'usdt'], ['py_gc', 'usdt']]);
  const maps = new Map(obj.maps.map((m) => [m.name, m]));
  t.like(maps.get('__bpf_usdt_specs'), { kind: 'array', keySize: 4, valueSize: 208, maxEntries: 256 }, 'usdt.bpf.h\'s spec array');
  t.like(maps.get('__bpf_usdt_ip_to_spec_id'), { kind: 'hash', keySize: 8, valueSize: 4, maxEntries: 1024 }, 'and its address index');
  const usdt = obj.program('py_call', LibbpfUsdt);
  usdt.load();
  t.true(usdt.loaded, 'the verifier accepted it (with bpf_usdt_arg verified as a static function, as libbpf does)');
  t.is(usdt.info()?.type, 'kprobe', 'the kernel has it as a kprobe-type (uprobe) program');
});

ctest('SEC("syscall") loads as BPF_PROG_TYPE_SYSCALL and runs from user space with its context', (t) => {
  using obj = Ebpf.load(buildCObject('libbpf_syscall'));
  const add = obj.program('add', Syscall);
  t.is(add.section, 'syscall');
  const ctx = Buffer.alloc(24);
  ctx.writeBigUInt64LE(5n, 0);
  ctx.writeBigUInt64LE(3n, 8);
  const run = add.testRun({ ctx });
  t.is(run.returnValue, 1, 'a > b');
  t.is(run.ctx?.readBigUInt64LE(16), 8n, 'the program wrote a + b into the context');
  t.is(obj.map('.bss', ArrayMap, codec.u64).get(0), 1n, 'and counted the run in its global');
  const info = add.info();
  t.is(info?.type, 'syscall', 'the kernel has it as a syscall program');
  t.throws(() => add.testRun({ data: Buffer.alloc(8) }), { message: /only `ctx`/ });
});

ctest('struct_ops programs load for the kernel struct member they implement, as under libbpf', (t) => {
  using obj = Ebpf.load(buildCObject('libbpf_syscall'));
  const names = obj.programs.filter((p) => p.kind === 'struct_ops').map((p) => p.name).sort();
  t.deepEqual(names, ['aya_node_cc_cong_avoid', 'aya_node_cc_ssthresh', 'aya_node_cc_undo_cwnd']);
  for (const name of names) {
    const program = obj.program(name, StructOps);
    program.load();
    t.is(program.info()?.type, 'struct_ops', `${name}: the kernel verified it against tcp_congestion_ops`);
  }
  // A struct_ops function no .struct_ops variable points to has no member to implement.
  const orphan = buildCSource('struct_ops_orphan', [
    '#include "vmlinux.h"',
    '#include <bpf/bpf_helpers.h>',
    '#include <bpf/bpf_tracing.h>',
    'SEC("struct_ops/orphan") __u32 BPF_PROG(orphan, struct sock *sk) { return 1; }',
    'char LICENSE[] SEC("license") = "GPL";',
  ].join('\n'));
  using lonely = Ebpf.load(orphan);
  const err = t.throws(() => lonely.program('orphan', StructOps).load());
  t.true(err instanceof EbpfError && err.code === 'UNSUPPORTED', String(err));
});

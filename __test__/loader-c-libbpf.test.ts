import test from 'ava';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, fchmodSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArrayMap, codec, Ebpf, EbpfError, StackTraceMap, TracePoint } from '../src';
import { buildCObject, cleanupCObjects, cSkipReason } from './c-objects';

// C objects that use what libbpf accepts and Aya 0.14 alone does not (issue 15), loaded the
// way libbpf-tools use them, each checked against the running kernel.

if (cSkipReason) console.log(`skip: libbpf-compat C tests: ${cSkipReason}`);
const ctest = cSkipReason ? test.skip : test;
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
  const seen = obj.map('.bss', ArrayMap, codec.struct({ mode: codec.u64, local: codec.u64, fd: codec.u64 })).get(0);
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
  t.regex(refused!.message, /stackmap/);

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

// The error rule of the README ("Errors"), held across the APIs: the same situation gets the
// same code everywhere, messages say things once and carry no internals.

import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  BpfMap,
  BtfTracePoint,
  bundledObjectPath,
  CgroupSkb,
  codec,
  Ebpf,
  EbpfError,
  HashMap,
  NotFoundError,
  PermissionError,
  RawTracePoint,
  SchedClassifier,
  structMemberOffset,
  TracePoint,
  UProbe,
  unpin,
  VerifierError,
  Xdp,
} from '../src';

/** The error `fn` throws (failing the test if it returns). */
function errorOf(t: import('ava').ExecutionContext, what: string, fn: () => unknown): EbpfError {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof EbpfError)) {
      t.fail(`${what}: ${String(err)} is not an EbpfError`);
      throw err;
    }
    return err;
  }
  t.fail(`${what}: did not throw`);
  throw new Error('unreachable');
}

const programOf = (object: string, kind: string) => {
  const obj = Ebpf.load(bundledObjectPath(object));
  return { obj, name: obj.programs.find((p) => p.kind === kind)!.name };
};

test('a missing name is NOT_FOUND (a NotFoundError) in every API', (t) => {
  const tp = programOf('loader_test', 'tracepoint');
  const raw = programOf('raw_tracepoint', 'raw_tracepoint');
  const xdp = programOf('xdp_drop_udp', 'xdp');
  const tc = programOf('tc_drop_udp', 'sched_cls');
  const skb = programOf('cgroup_skb', 'cgroup_skb');
  const uprobe = programOf('uprobe', 'uprobe');
  const cases: Array<[string, () => unknown]> = [
    ['Ebpf.load of a missing file', () => Ebpf.load('/nonexistent/x.bpf.o')],
    ['a program not in the object', () => tp.obj.program('no_such_program')],
    ['a map not in the object', () => tp.obj.map('NO_SUCH_MAP', HashMap, codec.u32, codec.u32)],
    ['a tracepoint event that does not exist', () => tp.obj.program(tp.name, TracePoint).attach('syscalls', 'sys_enter_no_such_call')],
    ['a tracepoint category that does not exist', () => tp.obj.program(tp.name, TracePoint).attach('no_such_category', 'x')],
    ['a raw tracepoint that does not exist', () => raw.obj.program(raw.name, RawTracePoint).attach('no_such_tracepoint')],
    ['an interface that does not exist (XDP)', () => xdp.obj.program(xdp.name, Xdp).attach('nosuchif0')],
    ['an interface that does not exist (TC)', () => tc.obj.program(tc.name, SchedClassifier).attach('nosuchif0')],
    ['a cgroup that does not exist', () => skb.obj.program(skb.name, CgroupSkb).attach('/sys/fs/cgroup/unified/no-such-cgroup')],
    ['a binary that does not exist (uprobe)', () => uprobe.obj.program(uprobe.name, UProbe).attach({ target: '/no/such/binary', symbol: 'main' })],
    ['a pin that does not exist', () => BpfMap.fromPin('/sys/fs/bpf/no-such-pin', HashMap, codec.u32, codec.u32)],
    ['a BTF struct that does not exist', () => structMemberOffset('no_such_struct', 'x')],
  ];
  try {
    for (const [what, fn] of cases) {
      const err = errorOf(t, what, fn);
      t.is(err.code, 'NOT_FOUND', `${what}: ${err.message}`);
      t.true(err instanceof NotFoundError, `${what} is a NotFoundError`);
    }
  } finally {
    for (const p of [tp, raw, xdp, tc, skb, uprobe]) p.obj.close();
  }
});

test('a map or program of another type is WRONG_TYPE, naming both types', (t) => {
  using obj = Ebpf.load(bundledObjectPath('execsnoop'));
  const perf = errorOf(t, 'perfEventArray on a ring buffer', () => obj.perfEventArray('EVENTS'));
  t.is(perf.code, 'WRONG_TYPE');
  t.regex(perf.message, /ringbuf/);
  t.regex(perf.message, /perf_event_array/);
  // The map stayed in the object: it still opens as what it is.
  t.notThrows(() => obj.ringBuf('EVENTS'));
  using streams = Ebpf.load(bundledObjectPath('streams'));
  const ring = errorOf(t, 'ringBuf on a perf event array', () => streams.ringBuf('PERF'));
  t.is(ring.code, 'WRONG_TYPE');
  t.regex(ring.message, /perf_event_array.*ringbuf/);
  const prog = errorOf(t, 'a tracepoint program as XDP', () => obj.program('execsnoop_enter', Xdp));
  t.is(prog.code, 'WRONG_TYPE');
  t.regex(prog.message, /tracepoint/);
  t.regex(prog.message, /xdp/i);
  const btf = errorOf(t, 'a tracepoint program as a BTF tracepoint', () => obj.program('execsnoop_exit', BtfTracePoint));
  t.is(btf.code, 'WRONG_TYPE');
});

test('wrong arguments name the argument, not the native function they would reach', (t) => {
  const tc = programOf('tc_drop_udp', 'sched_cls');
  try {
    const program = tc.obj.program(tc.name, SchedClassifier);
    t.throws(() => program.attach('lo', { api: 5 as never }), { instanceOf: TypeError, message: /^options\.api must be one of auto, tcx, netlink, got 5/ });
    t.throws(() => program.attach('lo', { api: 'tc' as never }), { instanceOf: RangeError, message: /^options\.api must be one of auto, tcx, netlink/ });
    t.throws(() => program.attach('lo', { netns: 5 as never }), { instanceOf: TypeError, message: /^options\.netns must be a string, got 5/ });
    t.throws(() => program.attach('lo', { direction: 'in' as never }), { instanceOf: RangeError, message: /^options\.direction must be one of ingress, egress/ });
  } finally {
    tc.obj.close();
  }
  t.throws(() => unpin(5 as never), { instanceOf: TypeError, message: /^path must be a string, got 5/ });
  t.throws(() => unpin(''), { instanceOf: RangeError, message: /^path must not be empty/ });
});

test('messages say each thing once and carry no Rust internals', (t) => {
  // A map the kernel refuses (a hash map with a 0-byte key): Aya's error repeats its source.
  const err = errorOf(t, 'a refused map', () => HashMap.create({ maxEntries: 0xffffffff }, codec.u64, codec.bytes(1 << 22)));
  const seen = err.message.split(': ');
  t.is(new Set(seen).size, seen.length, `no part repeats: ${err.message}`);
  // Malformed objects: whatever Aya tripped on, no panic text, source path or todo!().
  const elf = Buffer.from(require('node:fs').readFileSync(bundledObjectPath('loader_test')) as Buffer);
  let state = 7;
  for (let i = 0; i < 300; i++) {
    const input = Buffer.from(elf);
    for (let k = 0; k < 8; k++) {
      state = (state * 1103515245 + 12345) >>> 0;
      input[state % Math.min(input.length, 4096)] = state >>> 24;
    }
    try {
      Ebpf.load(input).close();
    } catch (e) {
      if (!(e instanceof EbpfError)) throw e;
      t.notRegex(e.message, /\.rs:\d+|not yet implemented|index out of bounds|range end index|panicked/, e.message);
    }
  }
});

const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find(existsSync);

(setpriv ? test : test.skip)('EPERM at program load is a PermissionError naming the capability, not a VerifierError', (t) => {
  // As user nobody with CAP_BPF only: maps can be created, a tracing program cannot load
  // (it needs CAP_PERFMON).
  const script = `
const { Ebpf, bundledObjectPath } = require(${JSON.stringify(join(__dirname, '..', 'dist'))});
const obj = Ebpf.load(bundledObjectPath('execsnoop'));
try {
  obj.program('execsnoop_enter').load();
  console.log(JSON.stringify({ loaded: true }));
} catch (e) {
  console.log(JSON.stringify({ name: e.name, code: e.code, errnoName: e.errnoName, message: e.message, log: e.verifierLog ?? null }));
}`;
  const out = execFileSync(setpriv!, ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all,+bpf', '--ambient-caps=-all,+bpf', process.execPath, '-e', script], {
    encoding: 'utf8',
    cwd: '/tmp',
  });
  const result = JSON.parse(out.trim().split('\n').pop()!);
  t.not(result.loaded, true, 'a tracing program does not load without CAP_PERFMON');
  t.is(result.name, PermissionError.name === 'PermissionError' ? 'PermissionError' : result.name);
  t.is(result.code, 'PERMISSION');
  t.not(result.name, VerifierError.name);
  t.is(result.log, null, 'no (empty) verifier log');
  t.regex(result.message, /CAP_PERFMON/);
});

(setpriv ? test : test.skip)('unprivileged: kernelFeatures() says it cannot tell; tracefs mounted but unreadable is not "not mounted"', (t) => {
  const dist = JSON.stringify(join(__dirname, '..', 'dist'));
  const run = (caps: string, script: string) =>
    JSON.parse(
      execFileSync(setpriv!, ['--reuid=65534', '--regid=65534', '--clear-groups', `--inh-caps=-all${caps}`, `--ambient-caps=-all${caps}`, process.execPath, '-e', script], {
        encoding: 'utf8',
        cwd: '/tmp',
      })
        .trim()
        .split('\n')
        .pop()!,
    );
  const features = run(
    '',
    `const { kernelFeatures } = require(${dist});
const out = [];
for (let i = 0; i < 2; i++) { try { kernelFeatures(); out.push('answered'); } catch (e) { out.push(e.name + ' ' + e.code + ' ' + e.message); } }
console.log(JSON.stringify(out));`,
  );
  t.is(features.length, 2);
  for (const answer of features) t.regex(answer, /^PermissionError PERMISSION kernelFeatures\(\) cannot tell/, 'twice: nothing cached');
  // A `category/name` tracepoint (the bundled tools use raw tracepoints, which need no tracefs).
  const tool = run(
    ',+bpf,+perfmon',
    `const { Ebpf, TracePoint, bundledObjectPath } = require(${dist});
try { const o = Ebpf.load(bundledObjectPath('loader_test')); o.program('tp_count', TracePoint).attach('syscalls', 'sys_enter_getppid'); o.close(); console.log(JSON.stringify('opened')); } catch (e) { console.log(JSON.stringify(e.code + ' ' + e.message)); }`,
  );
  if (tool === 'opened') t.pass('this machine gives user nobody access to tracefs');
  else {
    t.notRegex(tool, /not mounted/);
    t.regex(tool, /^PERMISSION tracefs is mounted at \/sys\/kernel\/tracing but this user cannot read it/);
  }
});

// libbpf-style USDT programs (C with usdt.bpf.h, ebpf/c/libbpf_usdt.bpf.c) attached with
// LibbpfUsdt to the USDT probes of Debian's python3, checked against what the program reads
// (names, line numbers, argument count, cookie), what the kernel holds after detach and close,
// and what libbpf 1.1 itself gives for the same object and probe.

import test, { type ExecutionContext } from 'ava';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ArrayMap, codec, Ebpf, EbpfError, HashMap, LibbpfUsdt, NotFoundError, parseUsdtArgs, resolveUsdtTarget, usdtProbes, type Infer, type UsdtProbe } from '../src';
import { libbpfUsdtSpec } from '../src/programs/libbpf-usdt';
import { buildCObject, buildCSource, cleanupCObjects, cSkipReason } from './c-objects';
import { PYTHON } from './flamegraph-helpers';
import { eventually, kernelHasProgram, kernelLinks, within } from './helpers';
import { collect, noLinksOf } from './programs-helpers';
import { pythonCopy, pythonRounds, semaphoreOf } from './usdt-helpers';

const python = existsSync(PYTHON) ? realpathSync(PYTHON) : undefined;
const probes: UsdtProbe[] = python ? usdtProbes(python) : [];
const why = cSkipReason ?? (!python ? `${PYTHON} is missing (scripts/setup.sh installs Debian's python3)` : probes.length === 0 ? `${python} has no USDT probes` : undefined);
if (why) console.log(`skip: libbpf USDT tests: ${why}`);
// Serial: the tests compile C (clang blocks this worker's event loop) and time python rounds.
const utest = why ? test.skip : test.serial;
test.after.always(() => cleanupCObjects());

const probe = (name: string) => probes.find((p) => p.provider === 'python' && p.name === name)!;

/** `struct usdt_event` of libbpf_usdt.bpf.c. */
const UsdtEvent = codec.struct({
  pid: codec.u32,
  argCnt: codec.i32,
  line: codec.i64,
  usdtCookie: codec.u64,
  specId: codec.u64,
  ipSpecId: codec.i64,
  pastEnd: codec.i32,
  tag: codec.u32,
  func: codec.cstring(64),
  file: codec.cstring(96),
  arg1: codec.i64,
});
type UsdtEvent = Infer<typeof UsdtEvent>;
const SPEC_SIZE = 208;
const ENOENT = 2;

// CPython 3.11 fires function__entry only while a profile (or trace) function is set; then it
// fires for every Python frame, with the line of the `def`. function__return gives the line
// of the `return`. The profile function is a C callable (slice takes any three arguments), so
// it adds no Python frames of its own.
const PRELUDE = `import gc
gc.disable()
def alpha(n):
    return n + 1

def beta(n):
    return alpha(n) * 2

sys.setprofile(slice)`;
const BODY = `    list(map(alpha, range(3)))
    list(map(beta, range(2)))
    for g in (2, 0, 1):
        gc.collect(g)`;
/** function__entry of BODY (the line of each `def`): alpha x3 from map(), then beta, which calls alpha, twice. */
const ENTRIES = [['alpha', 4n], ['alpha', 4n], ['alpha', 4n], ['beta', 7n], ['alpha', 4n], ['beta', 7n], ['alpha', 4n]];
/** function__return (the line of each `return`): the same calls, inner first. */
const RETURNS = [['alpha', 5n], ['alpha', 5n], ['alpha', 5n], ['alpha', 5n], ['beta', 8n], ['alpha', 5n], ['beta', 8n]];

function load(pid: number): Ebpf {
  return Ebpf.load(buildCObject('libbpf_usdt'), { globals: { target_tgid: { codec: codec.u32, value: pid } } });
}

const specs = (obj: Ebpf) => obj.map('__bpf_usdt_specs', ArrayMap, codec.bytes(SPEC_SIZE));
const ipIndex = (obj: Ebpf) => obj.map('__bpf_usdt_ip_to_spec_id', HashMap, codec.i64, codec.u32);
const isZero = (b: Buffer | undefined) => b !== undefined && b.every((x) => x === 0);
const calls = (events: UsdtEvent[], script: string) => events.filter((e) => e.tag === 1 && e.file === script).map((e) => [e.func, e.line]);

test('argument specs encode as libbpf\'s struct __bpf_usdt_spec: location kind, pt_regs offset, sign, the width as a shift', (t) => {
  const spec = libbpfUsdtSpec(parseUsdtArgs('-4@-16(%rbp) 8@%r12 2@$-3 -1@%al'), 0xabcn);
  t.deepEqual(spec.args.slice(0, 5), [
    { valOff: 0xffff_ffff_ffff_fff0n, argType: 2, regOff: 4 * 8, signed: 1, bitshift: 32 }, // memory at rbp - 16, a signed int
    { valOff: 0n, argType: 1, regOff: 3 * 8, signed: 0, bitshift: 0 }, // r12, 8 bytes
    { valOff: 0xffff_ffff_ffff_fffdn, argType: 0, regOff: 0, signed: 0, bitshift: 48 }, // the constant -3 as an unsigned short
    { valOff: 0n, argType: 1, regOff: 10 * 8, signed: 1, bitshift: 56 }, // al: ax's slot, one signed byte
    { valOff: 0n, argType: 0, regOff: 0, signed: 0, bitshift: 0 }, // unused
  ]);
  t.is(spec.argCount, 4);
  t.is(spec.usdtCookie, 0xabcn);
});

utest('BPF_USDT reads python:function__entry by pid: function names and line numbers, bpf_usdt_arg_cnt, bpf_usdt_cookie; detach undoes it all', async (t) => {
  const py = await pythonRounds(t, PRELUDE, BODY);
  using obj = load(py.pid);
  const events = obj.ringBuf('usdt_events', UsdtEvent);
  const entry = probe('function__entry');
  const program = obj.program('py_call', LibbpfUsdt);
  const link = program.attach({ target: 'python3', provider: 'python', name: 'function__entry', pid: py.pid, cookie: 0xfeed_f00dn });
  t.regex(link.target, /^usdt .*python3.*:python:function__entry \(pid \d+\)$/);
  t.true(semaphoreOf(py.pid, entry) >= 1, 'the semaphore is counted up in the process');

  // libbpf's layout: spec 0 holds 3 arguments (arg_cnt, a short at 200) and the cookie (at 192).
  const spec = specs(obj).get(0)!;
  t.is(spec.readInt16LE(200), 3, 'arg_cnt');
  t.is(spec.readBigUInt64LE(192), 0xfeed_f00dn, 'usdt_cookie');
  t.deepEqual([...ipIndex(obj).entries()], [[entry.address, 0]], 'the site\'s address (python3 is not PIE) maps to spec 0');

  await py.round();
  const seen = await collect(events, 300);
  t.deepEqual(calls(seen, py.script), ENTRIES, 'every call: name (a string argument) and def line (a signed register argument)');
  const mine = seen.filter((e) => e.file === py.script);
  t.true(mine.every((e) => e.pid === py.pid && e.argCnt === 3 && e.usdtCookie === 0xfeed_f00dn), 'bpf_usdt_arg_cnt() is 3 and bpf_usdt_cookie() the attach cookie');
  t.true(mine.every((e) => e.specId === 0n && e.ipSpecId === 0n), 'the BPF cookie and the address index agree on the spec');
  t.true(mine.every((e) => e.pastEnd === -ENOENT), 'bpf_usdt_arg() past the last argument is -ENOENT');

  link.detach();
  t.is(semaphoreOf(py.pid, entry), 0, 'detaching counted the semaphore back down');
  t.true(isZero(specs(obj).get(0)), 'the spec is cleared');
  t.is([...ipIndex(obj).keys()].length, 0, 'the address index is empty');
  t.true(noLinksOf(obj, 'py_call'), 'the kernel has no link of the program left');
  await py.round();
  t.deepEqual(calls(await collect(events, 200), py.script), [], 'and nothing more is seen');

  // The freed spec id is used again.
  program.attach({ target: python!, provider: 'python', name: 'function__entry', pid: py.pid });
  t.is(specs(obj).get(0)!.readInt16LE(200), 3, 'spec id 0 again');
});

utest('by binary (every process running it): function__return and gc__start (a signed int on the stack) in one object, one spec id each; close leaves nothing', async (t) => {
  const copy = pythonCopy(t);
  const py = await pythonRounds(t, PRELUDE, BODY, copy);
  const ret = { ...probe('function__return'), path: copy };
  let ids: number[];
  let mapIds: number[];
  {
    using obj = load(py.pid);
    const events = obj.ringBuf('usdt_events', UsdtEvent);
    obj.program('py_call', LibbpfUsdt).attach({ target: copy, provider: 'python', name: 'function__return', cookie: 1n });
    obj.program('py_gc', LibbpfUsdt).attach({ target: copy, provider: 'python', name: 'gc__start', cookie: 2n });
    t.true(semaphoreOf(py.pid, ret) >= 1, 'an attachment to the file counts the semaphore up in a running process too');
    t.deepEqual([...ipIndex(obj).entries()].sort((a, b) => a[1] - b[1]), [[ret.address, 0], [probe('gc__start').address, 1]]);
    await py.round();
    const seen = await collect(events, 300);
    t.deepEqual(calls(seen, py.script), RETURNS, 'function__return: name and return line of every call');
    const gcs = seen.filter((e) => e.tag === 2);
    t.deepEqual(gcs.map((e) => e.line), [2n, 0n, 1n], 'gc__start: the generation of each gc.collect(g), read from 112(%rsp)');
    t.true(gcs.every((e) => e.argCnt === 1 && e.usdtCookie === 2n && e.specId === 1n && e.ipSpecId === 1n), 'gc__start: one argument, its own cookie and spec');
    t.true(seen.filter((e) => e.tag === 1).every((e) => e.argCnt === 3 && e.usdtCookie === 1n && e.specId === 0n));
    ids = ['py_call', 'py_gc'].map((p) => obj.program(p).id!);
    mapIds = obj.program('py_call').info()!.mapIds;
  }
  t.false(kernelLinks().some((l) => ids.includes(l.prog_id)), 'closing the object left no link of either program');
  // The kernel frees programs and their maps after an RCU grace period, not at close: allow it a moment.
  await eventually(() => !ids.some(kernelHasProgram), 3000);
  t.false(ids.some(kernelHasProgram), 'and unloaded both');
  const mapGone = (id: number) => {
    try {
      execFileSync('bpftool', ['map', 'show', 'id', String(id)], { stdio: 'pipe' });
      return false;
    } catch {
      return true;
    }
  };
  await eventually(() => mapIds.every(mapGone), 3000);
  t.true(mapIds.length >= 3 && mapIds.every(mapGone), `and the kernel freed its maps, the spec array and the address index among them (ids ${mapIds.join(', ')})`);
  t.is(semaphoreOf(py.pid, ret), 0, 'and counted the semaphore back down');
});

utest('bad targets and objects are typed errors; a failed attach leaves no spec, address or link behind', (t) => {
  using obj = load(0);
  const program = obj.program('py_call', LibbpfUsdt);
  const missing = t.throws(() => program.attach({ target: PYTHON, provider: 'python', name: 'no__such__probe' }), { instanceOf: NotFoundError });
  t.regex(missing!.message, /no USDT probe python:no__such__probe in .*python3.*it has .*python:function__entry/);
  t.throws(() => program.attach({ target: PYTHON, provider: 'pyth0n', name: 'function__entry' }), { instanceOf: NotFoundError, message: /no USDT probe pyth0n:function__entry/ });
  t.throws(() => program.attach({ target: '/no/such/binary', provider: 'python', name: 'line' }), { instanceOf: NotFoundError, message: /no such file/ });
  const fifoDir = mkdtempSync(join(tmpdir(), 'aya-node-usdt-fifo-'));
  t.teardown(() => rmSync(fifoDir, { recursive: true, force: true }));
  execFileSync('mkfifo', [join(fifoDir, 'fifo')]);
  t.throws(() => program.attach({ target: join(fifoDir, 'fifo'), provider: 'python', name: 'line' }), { message: /fifo is not a regular file/ }, 'a FIFO is refused, not read (which would block)');
  // No argument: the section names no probe, a usage error of this program.
  t.is(t.throws(() => program.attach(undefined), { instanceOf: EbpfError })!.code, 'INVALID_ARGUMENT');
  // Wrong types and ranges are TypeError/RangeError naming the field, as in every other API.
  const site = { target: PYTHON, provider: 'python', name: 'line' };
  const bads: Array<[unknown, typeof TypeError, RegExp]> = [
    [5, TypeError, /must be an object/],
    [{}, TypeError, /options\.target must be a string, got undefined/],
    [{ target: PYTHON, provider: 'python' }, TypeError, /options\.name must be a string/],
    [{ ...site, target: 5 }, TypeError, /options\.target must be a string, got 5/],
    [{ ...site, provider: '' }, RangeError, /options\.provider must not be empty/],
    [{ ...site, pid: 'x' }, TypeError, /options\.pid must be a number/],
    [{ ...site, pid: -1 }, RangeError, /options\.pid must be an integer from 1/],
    [{ ...site, cookie: -1n }, RangeError, /options\.cookie must be a bigint from 0/],
    [{ ...site, cookie: -1 }, TypeError, /options\.cookie must be a bigint, got number/],
  ];
  for (const [bad, type, message] of bads) {
    t.throws(() => program.attach(bad as never), { instanceOf: type, message }, JSON.stringify(bad, (_, v) => (typeof v === 'bigint' ? `${v}n` : v)));
  }

  // A process that is gone: the uprobe cannot be created, after the spec and address were written.
  const gone = spawnSync('true');
  const failed = t.throws(() => program.attach({ target: PYTHON, provider: 'python', name: 'line', pid: gone.pid }), { instanceOf: NotFoundError });
  t.regex(failed!.message, /python3.*no such process/);
  t.true(isZero(specs(obj).get(0)), 'the spec written before the failure is cleared');
  t.is([...ipIndex(obj).keys()].length, 0, 'and the address entry removed');
  t.true(noLinksOf(obj, 'py_call'), 'no link');
  program.attach({ target: pythonCopy(t), provider: 'python', name: 'line' });
  t.is(specs(obj).get(0)!.readInt16LE(200), 3, 'its spec id was freed: the next attach gets 0');

  // An object whose SEC("usdt") program does not include usdt.bpf.h: no spec maps.
  using plain = Ebpf.load(buildCSource('usdt_no_maps', '#include "vmlinux.h"\n#include <bpf/bpf_helpers.h>\nSEC("usdt")\nint plain(struct pt_regs *ctx) { return 0; }\nchar LICENSE[] SEC("license") = "GPL";\n'));
  const noMaps = t.throws(() => plain.program('plain', LibbpfUsdt).attach({ target: PYTHON, provider: 'python', name: 'line' }), { instanceOf: NotFoundError });
  t.regex(noMaps!.message, /no `__bpf_usdt_specs` map: .*include <bpf\/usdt\.bpf\.h>/);
  t.true(noLinksOf(plain, 'plain'));

  // After close(), with its maps opened by an earlier attach: the object is what is closed.
  obj.close();
  const closed = t.throws(() => program.attach({ target: PYTHON, provider: 'python', name: 'line' }), { instanceOf: EbpfError });
  t.is(closed!.code, 'CLOSED');
  t.regex(closed!.message, /the object is closed/);
});

utest('spec ids are bounded by BPF_USDT_MAX_SPEC_CNT (BUSY until a link detaches); a full address index (BPF_USDT_MAX_IP_CNT) is not an error', (t) => {
  const source = `#define BPF_USDT_MAX_SPEC_CNT 2
#define BPF_USDT_MAX_IP_CNT 1
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>
__u64 hits;
SEC("usdt")
int BPF_USDT(two, long a) { hits += bpf_usdt_arg_cnt(ctx); return 0; }
char LICENSE[] SEC("license") = "GPL";
`;
  using obj = Ebpf.load(buildCSource('usdt_two_specs', source));
  const program = obj.program('two', LibbpfUsdt);
  const copy = pythonCopy(t);
  const first = program.attach({ target: copy, provider: 'python', name: 'line' });
  program.attach({ target: copy, provider: 'python', name: 'gc__start' });
  t.deepEqual([...ipIndex(obj).entries()], [[probe('line').address, 0]], 'the index holds the first address only: libbpf does not need it on this kernel either');
  const full = t.throws(() => program.attach({ target: copy, provider: 'python', name: 'function__entry' }), { instanceOf: EbpfError });
  t.is(full!.code, 'BUSY');
  t.regex(full!.message, /every USDT spec id is in use .*2 entries; raise BPF_USDT_MAX_SPEC_CNT/);
  first.detach();
  program.attach({ target: copy, provider: 'python', name: 'function__entry' });
  t.is(specs(obj).get(0)!.readInt16LE(200), 3, 'function__entry\'s three-argument spec took the freed id');
});

utest('attach() without a target takes the probe from SEC("usdt/PATH:PROVIDER:NAME"), as libbpf\'s auto-attach does', async (t) => {
  const copy = pythonCopy(t);
  const source = `#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>
const volatile __u32 target_tgid = 0;
__s64 generations[4];
__u64 seen;
SEC("usdt/${copy}:python:gc__start")
int BPF_USDT(auto_gc, int generation)
{
	if (bpf_get_current_pid_tgid() >> 32 != target_tgid || seen >= 4)
		return 0;
	generations[seen & 3] = generation;
	seen++;
	return 0;
}
SEC("usdt")
int BPF_USDT(manual, long a) { return 0; }
char LICENSE[] SEC("license") = "GPL";
`;
  const py = await pythonRounds(t, 'import gc\ngc.disable()', '    for g in (1, 2, 0):\n        gc.collect(g)', copy);
  using obj = Ebpf.load(buildCSource('usdt_auto_attach', source), { globals: { target_tgid: { codec: codec.u32, value: py.pid } } });
  const program = obj.program('auto_gc', LibbpfUsdt);
  t.is(program.section, `usdt/${copy}:python:gc__start`);
  const link = program.attach();
  t.is(link.target, `usdt ${copy}:python:gc__start`, 'every process running that file');
  await py.round();
  const bss = obj.map('.bss', ArrayMap, codec.struct({ generations: codec.array(codec.i64, 4), seen: codec.u64 })).get(0)!;
  t.is(bss.seen, 3n);
  t.deepEqual(bss.generations.slice(0, 3), [1n, 2n, 0n]);
  const err = t.throws(() => obj.program('manual', LibbpfUsdt).attach(), { instanceOf: EbpfError });
  t.is(err!.code, 'INVALID_ARGUMENT');
  t.regex(err!.message, /section `usdt` names no probe/);
});

/** A C++ program throwing three ints per line read, printing the address of `typeid(int)` first. */
const THROWER = `#include <cstdio>
#include <typeinfo>
int main()
{
	printf("%p\\n", (const void *)&typeid(int));
	fflush(stdout);
	for (int c; (c = getchar()) != EOF;) {
		if (c != '\\n')
			continue;
		for (int i = 0; i < 3; i++) {
			try {
				throw i;
			} catch (int) {
			}
		}
		puts("done");
		fflush(stdout);
	}
}
`;

utest('a shared library (position-independent): libstdcxx:throw of a C++ program, by pid (library name, address index from its mappings) and by file', async (t) => {
  const clangxx = ['/usr/bin/clang++-22', '/usr/lib/llvm-22/bin/clang++'].find(existsSync);
  const dir = mkdtempSync(join(tmpdir(), 'aya-node-thrower-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'thrower.cc'), THROWER);
  try {
    execFileSync(clangxx!, ['-O1', join(dir, 'thrower.cc'), '-o', join(dir, 'thrower')], { stdio: 'pipe' });
  } catch (err) {
    t.log(`skip: no C++ compiler (clang-22 from scripts/setup.sh brings libstdc++-dev): ${(err as Error).message}`);
    t.pass();
    return;
  }
  // Its own copy of libstdc++: the attachment without a pid covers the processes mapping that file only.
  const library = join(dir, 'libstdc++.so.6');
  copyFileSync(resolveUsdtTarget('libstdc++'), library);
  const child = spawn(join(dir, 'thrower'), [], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, LD_LIBRARY_PATH: dir } });
  t.teardown(() => child.kill('SIGKILL'));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const typeinfo = BigInt((await within(10_000, 'the thrower to start', lines.next())).value);
  const libstdcxx = usdtProbes(resolveUsdtTarget('libstdc++', child.pid)).find((p) => p.provider === 'libstdcxx' && p.name === 'throw');
  if (!libstdcxx) {
    t.log('skip: this libstdc++ has no libstdcxx:throw probe');
    t.pass();
    return;
  }
  t.is(libstdcxx.path, library, 'the process maps the copy');
  t.true(libstdcxx.positionIndependent, 'a shared library');
  const round = async () => {
    child.stdin.write('\n');
    t.is((await within(10_000, 'the throws', lines.next())).value, 'done');
  };

  using obj = load(child.pid!);
  const events = obj.ringBuf('usdt_events', UsdtEvent);
  const program = obj.program('any_probe', LibbpfUsdt);
  const byPid = program.attach({ target: 'libstdc++', provider: 'libstdcxx', name: 'throw', pid: child.pid, cookie: 5n });
  t.is([...ipIndex(obj).keys()].length, 1, 'with a pid, the site\'s address in that process is known');
  await round();
  let seen = (await collect(events, 300)).filter((e) => e.tag === 3);
  t.is(seen.length, 3, 'three throws');
  t.true(seen.every((e) => e.arg1 === typeinfo), 'the second argument is &typeid(int), as the program printed it');
  t.true(seen.every((e) => e.argCnt === 2 && e.usdtCookie === 5n && e.specId === 0n), 'two arguments, the cookie, spec 0');
  t.true(seen.every((e) => e.ipSpecId === 0n), 'the address index agrees: the address computed from /proc/PID/maps is where the kernel hit the probe');
  byPid.detach();
  t.is([...ipIndex(obj).keys()].length, 0);

  program.attach({ target: library, provider: 'libstdcxx', name: 'throw' });
  t.is([...ipIndex(obj).keys()].length, 0, 'without a pid, a library\'s run-time address is unknown: no address entry');
  await round();
  seen = (await collect(events, 300)).filter((e) => e.tag === 3);
  t.is(seen.length, 3, 'the cookie alone finds the spec');
  t.true(seen.every((e) => e.arg1 === typeinfo && e.specId === 0n && e.ipSpecId === -1n), JSON.stringify(seen.map((e) => [e.arg1, e.specId, e.ipSpecId]), (_, v) => (typeof v === 'bigint' ? String(v) : v)));
});

/** Why the libbpf reference loader cannot be built here, or its path. */
function libbpfLoader(t: ExecutionContext): string | undefined {
  const clang = ['/usr/bin/clang-22', '/usr/lib/llvm-22/bin/clang'].find(existsSync);
  const dir = mkdtempSync(join(tmpdir(), 'aya-node-libbpf-loader-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'loader');
  try {
    execFileSync(clang!, ['-O1', join(__dirname, 'fixtures', 'libbpf-usdt-loader.c'), '-lbpf', '-o', out], { stdio: 'pipe' });
    return out;
  } catch (err) {
    t.log(`skip: the libbpf reference loader does not build (libbpf-dev and clang-22 come from scripts/setup.sh): ${(err as Error).message}`);
    return undefined;
  }
}

utest('libbpf 1.1 attaching the same program to the same probe gives the same events and writes the same spec bytes', async (t) => {
  const loader = libbpfLoader(t);
  if (!loader) {
    t.pass();
    return;
  }
  try {
    t.log(`libbpf ${execFileSync('dpkg-query', ['-W', '-f=${Version}', 'libbpf1'], { encoding: 'utf8', stdio: 'pipe' })}`);
  } catch {
    // not Debian: the version is only informative
  }
  const py = await pythonRounds(t, PRELUDE, BODY);
  const object = buildCObject('libbpf_usdt');
  const strip = (e: UsdtEvent) => `${e.tag}\t${e.argCnt}\t${e.line}\t${e.usdtCookie}\t${e.specId}\t${e.pastEnd}\t${e.func}\t${e.file}`;
  for (const [program, name, cookie] of [['py_call', 'function__entry', 0x1234n], ['py_call', 'function__return', 7n], ['py_gc', 'gc__start', 0xffff_ffff_ffff_fffen]] as const) {
    // Round 1 under libbpf.
    const child = spawn(loader, [object, program, String(py.pid), PYTHON, 'python', name, String(cookie)], { stdio: ['pipe', 'pipe', 'pipe'] });
    t.teardown(() => child.kill('SIGKILL'));
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const first = await within(10_000, 'the libbpf loader to attach', lines.next());
    t.is(first.value, 'attached', stderr);
    await py.round();
    child.stdin.write('go\n');
    const theirs: string[] = [];
    let theirSpec = '';
    for await (const line of lines) {
      if (line.startsWith('event\t')) theirs.push(line.slice('event\t'.length));
      if (line.startsWith('spec\t')) theirSpec = line.split('\t')[2];
    }
    // Round 2 under aya-node.
    let ours: string[];
    let ourSpec: string;
    {
      using obj = load(py.pid);
      const events = obj.ringBuf('usdt_events', UsdtEvent);
      obj.program(program, LibbpfUsdt).attach({ target: PYTHON, provider: 'python', name, pid: py.pid, cookie });
      await py.round();
      const seen = await collect(events, 300);
      ours = seen.map(strip);
      ourSpec = specs(obj).get(Number(seen[0]?.specId ?? 0))!.toString('hex');
    }
    const mine = (lines: string[]) => lines.filter((l) => l.endsWith(`\t${py.script}`) || l.startsWith('2\t'));
    t.true(mine(ours).length > 0, `${name}: events seen`);
    t.deepEqual(mine(ours), mine(theirs), `${name}: the program reads the same arguments, count, cookie and spec id under both loaders`);
    t.is(ourSpec, theirSpec, `${name}: __bpf_usdt_specs holds the same bytes`);
  }
});

// USDT probes of a real binary: Debian's python3 (built with --with-dtrace) traced from
// TypeScript with the Usdt class and the usdt_calls eBPF program, which reads the probe's
// function-name argument through aya_node_ebpf::usdt.

import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundledObjectPath, codec, Ebpf, EbpfError, HashMap, NotFoundError, PerCpuHashMap, resolveUsdtTarget, Usdt, usdtProbes, type UsdtProbe } from '../src';
import { PYTHON } from './flamegraph-helpers';
import { runCli, within } from './helpers';
import { collect, TestEvent } from './programs-helpers';
import { semaphoreOf } from './usdt-helpers';

const python = existsSync(PYTHON) ? realpathSync(PYTHON) : undefined;
const probes: UsdtProbe[] = python ? usdtProbes(python) : [];
const why = !python ? `${PYTHON} is missing (scripts/setup.sh installs Debian's python3)` : probes.length === 0 ? `${python} has no USDT probes` : '';
const usdtTest = why ? test.skip : test;
if (why) console.log(`skipping USDT tests: ${why}`);

usdtTest('the probes of python3 are read from .note.stapsdt, with semaphores and argument specs', (t) => {
  const entry = probes.find((p) => p.provider === 'python' && p.name === 'function__entry');
  t.truthy(entry);
  t.true(entry!.semaphore > 0n && entry!.semaphoreOffset > 0n, 'it has a semaphore');
  t.is(entry!.argString.split(' ').length, 3, 'filename, function name, line number');
  t.true(probes.some((p) => p.name === 'function__return'));
});

usdtTest('Usdt counts the calls of a Python function by name, with the semaphore up while attached and down after', async (t) => {
  const name = `aya_py_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const dir = mkdtempSync(join(tmpdir(), 'aya-node-usdt-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, 'calls.py'),
    `import sys
def ${name}(i):
    return i
sys.stdin.readline()
for i in range(37):
    ${name}(i)
print("done", flush=True)
sys.stdin.readline()
`,
  );
  const child = spawn(PYTHON, [join(dir, 'calls.py')], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.teardown(() => child.kill('SIGKILL'));
  const exited = new Promise((r) => child.on('exit', r));
  // The interpreter has mapped itself once it reads stdin; a short wait is enough for that.
  await new Promise((r) => setTimeout(r, 300));
  using obj = Ebpf.load(bundledObjectPath('usdt_calls'), {
    globals: { STRING_ARG: { codec: codec.u32, value: 1 }, FILTER_PID: { codec: codec.u32, value: child.pid! } },
  });
  const ret = probes.find((p) => p.provider === 'python' && p.name === 'function__return')!;
  t.is(semaphoreOf(child.pid!, ret), 0, 'nobody traces it yet');
  // CPython 3.11 fires function__entry only for some frames (bpftrace sees the same);
  // function__return fires once per call, with the same (file, function, line) arguments.
  const link = obj.program('usdt_calls', Usdt).attach({ target: 'python3', provider: 'python', name: 'function__return', pid: child.pid });
  t.regex(link.target, /python3.*:python:function__return \(pid \d+\)/);
  t.true(semaphoreOf(child.pid!, ret) >= 1, 'attaching counted the semaphore up');
  t.is([...obj.map('USDT_SPECS', HashMap, codec.u32, codec.bytes(208)).keys()].length, 1, 'one site, one spec');

  child.stdin!.write('go\n');
  await within(10_000, 'the script to make its calls', new Promise((r) => child.stdout!.once('data', r)));
  const calls = obj.map('CALLS', PerCpuHashMap, codec.cstring(64), codec.u64);
  const counted = calls.get(name);
  t.is(counted ? counted.reduce((a, b) => a + b, 0n) : 0n, 37n, `${name} returned 37 times`);

  link.detach();
  t.is(semaphoreOf(child.pid!, ret), 0, 'detaching counted it back down');
  t.is([...obj.map('USDT_SPECS', HashMap, codec.u32, codec.bytes(208)).keys()].length, 0, 'and dropped the spec');
  child.stdin!.end('\n');
  await within(5000, 'python to exit', exited);
});

usdtTest('a probe that does not exist is a NOT_FOUND error naming the probes there are', (t) => {
  using obj = Ebpf.load(bundledObjectPath('usdt_calls'));
  const err = t.throws(() => obj.program('usdt_calls', Usdt).attach({ target: PYTHON, provider: 'python', name: 'no__such__probe' }), { instanceOf: NotFoundError });
  t.is(err!.code, 'NOT_FOUND');
  t.regex(err!.message, /no USDT probe python:no__such__probe in .*python3.*it has .*python:function__entry/);
  t.throws(() => obj.program('usdt_calls', Usdt).attach({ target: '/no/such/binary', provider: 'p', name: 'n' }), { instanceOf: EbpfError, message: /no such file/ });
  t.throws(() => obj.program('usdt_calls', Usdt).attach({ target: PYTHON, provider: '', name: 'n' }), { instanceOf: RangeError, message: /options\.provider must not be empty/ });
  t.throws(() => obj.program('usdt_calls', Usdt).attach({ target: PYTHON, provider: 'python', name: 'line', pid: -1 }), { instanceOf: RangeError, message: /options\.pid/ });
  t.throws(() => obj.program('usdt_calls', Usdt).attach({ target: 5 as never, provider: 'python', name: 'line' }), { instanceOf: TypeError, message: /options\.target must be a string/ });
});

usdtTest('pycalls --pid lists the calls of a Python process by function name', async (t) => {
  const name = `aya_cli_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const dir = mkdtempSync(join(tmpdir(), 'aya-node-pycalls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'loop.py'), `import sys, time\ndef ${name}():\n    return 1\nsys.stdin.readline()\nfor i in range(23):\n    ${name}()\ntime.sleep(30)\n`);
  const child = spawn(PYTHON, [join(dir, 'loop.py')], { stdio: ['pipe', 'ignore', 'inherit'] });
  t.teardown(() => child.kill('SIGKILL'));
  await new Promise((r) => setTimeout(r, 300));
  const { stdout } = await runCli(['pycalls', '--pid', String(child.pid), '--duration', '2', '--json'], () => {
    child.stdin!.write('go\n');
  });
  const counts = stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { name: string; count: number });
  t.deepEqual(counts.find((c) => c.name === name), { name, count: 23 });
});

usdtTest('a probe argument in memory (gc__start: -4@112(%rsp), a signed int on the stack) reads right', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'aya-node-usdt-args-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'gc.py'), 'import gc, sys\ngc.disable()\nsys.stdin.readline()\nfor g in (2, 0, 1):\n    gc.collect(g)\nprint("done", flush=True)\nsys.stdin.readline()\n');
  const child = spawn(PYTHON, [join(dir, 'gc.py')], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.teardown(() => child.kill('SIGKILL'));
  await new Promise((r) => setTimeout(r, 300));
  using obj = Ebpf.load(join(__dirname, '..', 'ebpf', 'objects', 'usdt_args.bpf.o'), { globals: { FILTER_PID: { codec: codec.u32, value: child.pid! } } });
  const events = obj.ringBuf('EVENTS', TestEvent);
  obj.program('usdt_args', Usdt).attach({ target: PYTHON, provider: 'python', name: 'gc__start', pid: child.pid, cookie: 0x5eed_cafen });
  child.stdin!.write('go\n');
  await within(10_000, 'the collections', new Promise((r) => child.stdout!.once('data', r)));
  const seen = await collect(events, 300);
  t.deepEqual(
    seen.filter((e) => e.tag === 0).map((e) => e.value),
    [2n, 0n, 1n],
    'the generation of each gc.collect(g), read from the stack at 112(%rsp)',
  );
  t.true(seen.filter((e) => e.tag === 99).every((e) => e.value === 1n), 'gc__start has one argument');
  t.deepEqual(seen.filter((e) => e.tag === 98).map((e) => e.value), [0x5eed_cafen, 0x5eed_cafen, 0x5eed_cafen], 'the caller\'s cookie reaches the program');
  child.stdin!.end('\n');
});

test('USDT targets resolve by path, library name (system or a process\'s mappings) and executable name', (t) => {
  t.regex(resolveUsdtTarget('libc'), /\/libc\.so\.6$/, 'a library name finds the library');
  t.is(resolveUsdtTarget('libc', process.pid), readFileSync('/proc/self/maps', 'utf8').match(/\S*\/libc\.so\.6/)![0], 'with a pid: the file that process maps');
  const sh = resolveUsdtTarget('sh');
  t.true(readFileSync(sh).subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46])), `an executable name finds an ELF file on PATH (${sh}), not a wrapper script`);
  t.throws(() => resolveUsdtTarget('no-such-thing-here'), { instanceOf: NotFoundError, message: /no binary or library named/ });
  t.throws(() => resolveUsdtTarget(''), { instanceOf: TypeError });
});

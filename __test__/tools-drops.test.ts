// Ring drops of the streaming tools: counted in the kernel when the ring is full, shown by the
// API (`drops()`) and the CLI (on exit, also with --json), and avoided with a bigger `ringSize`.

import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Execsnoop, MAX_RING_SIZE, OffCpu, Opensnoop, Profile, PyCalls, Runqlat, Syscount, Tcplife, type Open } from '../src';
import { uniqueExecutable } from '../src/testing';
import { runCli } from './helpers';

/** Runs `file args` to its end. */
function runToEnd(file: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', () => resolve());
  });
}

/**
 * Opens with a unique command name (a symlink to cat, filtered in the kernel, so nothing else
 * reaches the ring) reading one file `count` times: every open is ours.
 */
async function openBurst(ringSize: number | undefined, count: number): Promise<{ events: number; drops: bigint; ringSize: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'aya-node-drops-'));
  const cat = uniqueExecutable('/bin/cat');
  try {
    const file = join(dir, 'f');
    writeFileSync(file, '');
    using snoop = Opensnoop.open({ comm: cat.comm, ringSize });
    const controller = new AbortController();
    let events = 0;
    let last = Date.now();
    const loop = (async () => {
      try {
        for await (const _ of snoop.stream({ signal: controller.signal }) as AsyncIterable<Open>) {
          events++;
          last = Date.now();
        }
      } catch (err) {
        if (!controller.signal.aborted) throw err;
      }
    })();
    await runToEnd(cat.path, new Array<string>(count).fill(file));
    // Everything the kernel wrote is read once nothing came for half a second.
    while (Date.now() - last < 500) await new Promise((r) => setTimeout(r, 100));
    controller.abort();
    await loop;
    return { events, drops: snoop.drops(), ringSize: snoop.ringSize };
  } finally {
    cat.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test.serial('a page-sized ring under a burst of opens drops, and events plus drops is every open; a large ring drops none', async (t) => {
  const burst = 3000;
  // Every open of the burst (cat's and its loader's), with room for all: the reference count.
  const large = await openBurst(8 << 20, burst);
  t.is(large.ringSize, 8 << 20);
  t.is(large.drops, 0n, 'an 8 MiB ring holds the whole burst');
  t.true(large.events >= burst, `all ${burst} opens of the file were seen (${large.events} events)`);

  const tiny = await openBurst(4096, burst);
  t.is(tiny.ringSize, 4096);
  t.true(tiny.drops > 0n, `a 4 KiB ring (13 events) overflowed: ${tiny.drops} dropped, ${tiny.events} read`);
  t.is(tiny.events + Number(tiny.drops), large.events, 'what was read plus what the kernel counted as dropped is every open');
});

test('ringSize is checked: a power of two, at least a page, at most MAX_RING_SIZE', (t) => {
  for (const bad of [3000, 6144, 2048, MAX_RING_SIZE * 2, 1.5, -4096, NaN]) {
    t.throws(() => Execsnoop.open({ ringSize: bad }), { instanceOf: RangeError, message: /ringSize/ }, String(bad));
  }
  t.throws(() => Tcplife.open({ ringSize: '4096' as unknown as number }), { instanceOf: TypeError, message: /ringSize/ });
  // pid and comm filters that could never match are refused, naming the option.
  for (const open of [Execsnoop.open, Opensnoop.open, Tcplife.open] as Array<(o: object) => unknown>) {
    t.throws(() => open({ pid: 'x' }), { instanceOf: TypeError, message: /^options\.pid must be a number/ });
    t.throws(() => open({ pid: -3 }), { instanceOf: RangeError, message: /^options\.pid must be an integer from 1/ });
    t.throws(() => open({ pid: 1.5 }), { instanceOf: RangeError, message: /^options\.pid/ });
    t.throws(() => open({ comm: 99 }), { instanceOf: TypeError, message: /^options\.comm must be a string/ });
    t.throws(() => open({ comm: '' }), { instanceOf: RangeError, message: /^options\.comm must not be empty/ });
    t.throws(() => open({ comm: 'x'.repeat(40) }), { instanceOf: RangeError, message: /^options\.comm is 40 bytes, more than the kernel's 15/ });
    t.throws(() => open({ comm: 'é'.repeat(8) }), { instanceOf: RangeError, message: /^options\.comm is 16 bytes/ }, 'bytes, not characters');
  }
  for (const open of [Syscount.open, Runqlat.open, OffCpu.open, Profile.open, PyCalls.open] as Array<(o: object) => unknown>) {
    t.throws(() => open({ pid: 'x' }), { instanceOf: TypeError, message: /^options\.pid must be a number/ });
    t.throws(() => open({ pid: 0 }), { instanceOf: RangeError, message: /^options\.pid must be an integer from 1/ });
  }
  using snoop = Execsnoop.open({ ringSize: 1 << 16 });
  t.is(snoop.ringSize, 1 << 16);
  using life = Tcplife.open();
  t.is(life.ringSize, 256 * 1024, "the object's default");
});

test('--comm and --pid are checked as the API checks them: a one-line message, no stack', (t) => {
  const cli = join(__dirname, '..', 'dist', 'cli.js');
  for (const [args, message] of [
    [['--comm', 'x'.repeat(40)], /^aya-node: --comm is 40 bytes, more than the kernel's 15/],
    [['--comm', ''], /^aya-node: --comm must not be empty/],
    [['--pid', '0'], /^aya-node: --pid takes a positive integer/],
  ] as Array<[string[], RegExp]>) {
    const run = spawnSync(process.execPath, [cli, 'execsnoop', ...args], { encoding: 'utf8', timeout: 60_000 });
    t.is(run.status, 1, run.stderr);
    t.regex(run.stderr, message);
    t.notRegex(run.stderr, /\n\s+at /, 'no stack trace');
  }
});

/** Runs `n` execs of `path` from two shells at once (both CPUs). */
function execBurst(path: string, n: number): Promise<void> {
  const loop = `i=0; while [ $i -lt ${n / 2} ]; do ${path}; i=$((i+1)); done`;
  return Promise.all([runToEnd('/bin/sh', ['-c', loop]), runToEnd('/bin/sh', ['-c', loop])]).then(() => {});
}

/** The CLI's summary: the JSON line on stderr with --json. */
function summary(stderr: string): { events: number; drops: number; ringSize: number } {
  const line = stderr.split('\n').find((l) => l.startsWith('{"summary"'));
  if (!line) throw new Error(`no summary line in: ${stderr}`);
  return JSON.parse(line).summary;
}

test.serial('execsnoop --ring-size: a one-event ring under an exec burst reports drops on exit (--json and text); 16M drops none', async (t) => {
  using exe = uniqueExecutable('/bin/true');
  const tiny = await runCli(['execsnoop', '--ring-size', '4096', '--json', '--duration', '4'], () => execBurst(exe.path, 300));
  const s = summary(tiny.stderr);
  t.is(s.ringSize, 4096);
  t.true(s.drops > 0, `drops reported (${JSON.stringify(s)})`);
  const lines = tiny.stdout.trim().split('\n').filter(Boolean);
  t.is(s.events, lines.length, 'stdout has exactly the events the summary counts');
  t.true(lines.every((l) => !('summary' in JSON.parse(l))), 'stdout stays events only');

  const large = await runCli(['execsnoop', '--ring-size', '16M', '--json', '--duration', '4'], () => execBurst(exe.path, 300));
  const l = summary(large.stderr);
  t.is(l.ringSize, 16 << 20);
  t.is(l.drops, 0);
  const ours = large.stdout.trim().split('\n').filter((line) => JSON.parse(line).filename === exe.path).length;
  t.is(ours, 300, 'every exec of the burst was seen');

  const text = await runCli(['execsnoop', '--ring-size', '4K', '--duration', '2'], () => execBurst(exe.path, 100));
  t.regex(text.stderr, /\d+ events, \d+ dropped \(ring buffer of 4096 bytes\)/);
});

test('--ring-size that is not a size is refused before loading', async (t) => {
  for (const bad of ['lots', '3000', '-4096']) {
    const run = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import=tsx', join(__dirname, '..', 'src', 'cli.ts'), 'execsnoop', '--ring-size', bad], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d));
      child.on('exit', (code) => resolve({ code, stderr }));
    });
    t.is(run.code, 1, bad);
    t.regex(run.stderr, /--ring-size/, bad);
    t.notRegex(run.stderr, /Tracing/, bad);
  }
});

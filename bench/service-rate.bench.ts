// CPU per event at service rates (issue 13, table 1): what a process pays to consume events
// from a real tracepoint at 100, 1,000 and 10,000 events/s, for aya-node's default `for await`
// and its `batches()` loop, beside a C consumer over libbpf and bpftrace, all measured in this
// run on the same workload, one consumer at a time.
//
// The workload (c/openat_load.c) calls openat on a missing path at a paced rate under the comm
// "ayaload"; every consumer traces sys_exit_openat of that comm and reads each event's fields:
// aya-node through the bundled opensnoop (c/opensnoop-consumer.cjs, the built package), libbpf
// through the same program written in C (c/opensnoop.bpf.c, c/opensnoop_consumer.c, both built
// here with clang and gcc), bpftrace through a one-line printf of the same event.
//
// A consumer's CPU is the sum over its threads of /proc/PID/task/TID/schedstat (ns on CPU),
// read after it said it is ready and after a warm-up (WARMUP seconds of the same workload,
// 2 by default), so start-up is left out: bpftrace's compile, and the JIT compiling a Node
// consumer's loop in its first few hundred events (at 100 events/s that one-time cost was
// a third of a 5-second window). A service consuming for hours pays the steady state.
// Also printed: how many times the consumer's threads were woken per event (from the same
// file; steadier than time on a shared VM), and each consumer's CPU while no events arrive (3 s idle).
//
// Needs root, gcc, clang-22, libbpf-dev and bpftrace (scripts/setup.sh bench installs them).
// Run: node --import=tsx bench/service-rate.bench.ts   (SECONDS=5 per rate, RATES=100,1000,10000 by default)
// BASELINE=DIR adds the default loop of another checkout of aya-node, built (npm run build), in
// the same run: what a change bought, e.g. `git worktree add /tmp/base <commit>` and build it.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { schedstat, schedstatSince } from './schedstat';

const RATES = (process.env.RATES ?? '100,1000,10000').split(',').map(Number);
const SECONDS = Number(process.env.SECONDS ?? 5);
const WARMUP = Number(process.env.WARMUP ?? 2);
const BASELINE = process.env.BASELINE;
const COMM = 'ayaload';
/** The bare-Node floor's row name (c/node-floor.cjs). */
const FLOOR = 'bare Node, woken by an fd (floor)';
/** The same wake-up read through Node's internal pipe handle (c/node-floor-handle.cjs). */
const HANDLE_FLOOR = 'bare Node, woken by an fd, no stream (pipe handle)';
const here = join(__dirname, 'c');

interface Consumer {
  name: string;
  start(): ChildProcess;
  /** The fd (in the consumer's parent, this process) the workload writes a byte to per event. */
  wakeFd?(child: ChildProcess): number;
  /** Reads the number of events the consumer saw from what it printed. */
  seen(out: string): number;
}

function build(): { load: string; consumer: string; object: string } {
  const dir = mkdtempSync(join(tmpdir(), 'aya-node-bench-'));
  const multiarch = execFileSync('gcc', ['-print-multiarch']).toString().trim();
  const load = join(dir, 'openat_load');
  const consumer = join(dir, 'opensnoop_consumer');
  const object = join(dir, 'opensnoop.bpf.o');
  execFileSync('gcc', ['-O2', '-o', load, join(here, 'openat_load.c')]);
  execFileSync('gcc', ['-O2', '-o', consumer, join(here, 'opensnoop_consumer.c'), '-lbpf']);
  execFileSync('clang-22', ['-O2', '-g', '-target', 'bpf', `-I/usr/include/${multiarch}`, '-c', join(here, 'opensnoop.bpf.c'), '-o', object]);
  return { load, consumer, object };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves once `stream` printed a line matching `ready`. */
function waitFor(child: ChildProcess, ready: RegExp, from: 'stdout' | 'stderr'): Promise<void> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`no ready line within 60 s: ${text}`)), 60_000);
    child[from]!.on('data', (d: Buffer) => {
      text += d.toString();
      if (ready.test(text)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => reject(new Error(`exited with ${code} before it was ready: ${text}`)));
  });
}

/**
 * Runs the workload once under every consumer of `group` at the same time (at most one of them
 * woken by a pipe: the workload writes to one fd) and returns each one's numbers.
 */
async function measure(group: Consumer[], load: string, rate: number) {
  const started = [];
  for (const consumer of group) {
    const child = consumer.start();
    const output = { text: '' };
    child.stdout!.on('data', (d: Buffer) => (output.text += d.toString()));
    // bpftrace prints its events on stdout; the others print their count at exit.
    await waitFor(child, consumer.name === 'bpftrace' ? /Attaching/ : /ready/, consumer.name === 'bpftrace' ? 'stdout' : 'stderr');
    started.push({ consumer, child, output });
  }
  await sleep(500);
  const idle0 = started.map((s) => schedstat(s.child.pid!));
  await sleep(3000);
  const idle1 = started.map((s) => schedstat(s.child.pid!));
  const fds = started.flatMap((s) => s.consumer.wakeFd?.(s.child) ?? []);
  if (fds.length > 1) throw new Error('at most one consumer of a group can be woken by the pipe');
  const fd = fds[0];
  // Not execFileSync: this process must keep reading the consumer's stdout meanwhile. bpftrace
  // prints every event there, and blocked behind a full pipe it lost most of them at 10,000/s.
  const run = async (seconds: number) => {
    const workload = spawn(load, [String(rate), String(seconds), ...(fd === undefined ? [] : ['3'])], {
      stdio: ['ignore', 'ignore', 'inherit', ...(fd === undefined ? [] : [fd])],
    });
    const code = await new Promise((resolve) => workload.on('exit', resolve));
    if (code !== 0) throw new Error(`the workload exited with ${code}`);
    await sleep(300);
  };
  if (WARMUP > 0) await run(WARMUP);
  const before = started.map((s) => schedstat(s.child.pid!));
  await run(SECONDS);
  const after = started.map((s) => schedstat(s.child.pid!));
  for (const { consumer, child } of started) {
    // 'close', not 'exit': the consumer's last output can still be in the pipe when 'exit' comes.
    const exited = new Promise((r) => child.on('close', r));
    child.kill(consumer.name === 'bpftrace' ? 'SIGINT' : 'SIGTERM');
    // bpftrace has been seen to ignore a SIGINT on this VM (11 minutes in epoll_wait): then kill it.
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
  }
  const events = rate * SECONDS;
  return started.map(({ consumer, output }, i) => {
    const busy = schedstatSince(before[i], after[i]);
    return {
      name: consumer.name,
      usPerEvent: busy.onCpuNs / events / 1000,
      runsPerEvent: busy.runs / events,
      idleMs: schedstatSince(idle0[i], idle1[i]).onCpuNs / 1e6,
      // Every event of the warm-up and the measured window.
      seen: consumer.seen(output.text),
      events: events + Math.round(rate * WARMUP),
    };
  });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main() {
  const { load, consumer, object } = build();
  const node = (mode: string, checkout?: string): Consumer => ({
    name: `aya-node ${mode}${checkout === undefined ? '' : ' (BASELINE build)'}`,
    start: () =>
      spawn(process.execPath, [join(checkout ?? join(here, '..', '..'), 'bench', 'c', 'opensnoop-consumer.cjs'), COMM, mode], {
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    seen: (out) => Number(out.trim().split(' ')[0]),
  });
  /** A bare Node process woken through its stdin (the workload writes a byte per event). */
  const floor = (name: string, script: string): Consumer => ({
    name,
    start: () => spawn(process.execPath, [join(here, script)], { stdio: ['pipe', 'pipe', 'pipe'] }),
    // The write end of the pipe that is the floor's stdin.
    wakeFd: (child) => (child.stdin as unknown as { _handle: { fd: number } })._handle.fd,
    seen: (out) => Number(out.trim()),
  });
  const consumers: Consumer[] = [
    node('for-await'),
    node('ring'),
    node('batches'),
    floor(FLOOR, 'node-floor.cjs'),
    floor(HANDLE_FLOOR, 'node-floor-handle.cjs'),
    {
      name: 'C libbpf',
      start: () => spawn(consumer, [object, COMM], { stdio: ['ignore', 'pipe', 'pipe'] }),
      seen: (out) => Number(out.trim().split(' ')[0]),
    },
    {
      name: 'bpftrace',
      start: () =>
        spawn('bpftrace', ['-e', `tracepoint:syscalls:sys_exit_openat /comm == "${COMM}"/ { printf("%d %d\\n", pid, args->ret); }`], {
          stdio: ['ignore', 'pipe', 'pipe'],
        }),
      seen: (out) => out.split('\n').filter((l) => /^\d+ -?\d+$/.test(l)).length,
    },
  ];
  console.log(
    `CPU per event of the consuming process (all its threads), ${SECONDS} s per rate after a ${WARMUP}-s warm-up at that rate, openat of a missing path.`,
  );
  console.log('Modes: for-await = `for await (const e of tool)` (the default loop of the Opensnoop tool); ring = `for await (const e of tool.events)` (the RingBuf itself);');
  console.log(`batches = \`tool.events.batches({ minBatch: 64, lingerMs: 20 })\`. "above floor": µs/event minus the "${FLOOR}" row of the same rate.`);
  console.log('| events/s | consumer | µs CPU/event | above floor | × C | × bpftrace | thread wake-ups/event | events seen | idle CPU (3 s) |');
  console.log('| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const rate of RATES) {
    const rows = [];
    for (const c of consumers) rows.push(...(await measure([c], load, rate)));
    const c = rows.find((r) => r.name === 'C libbpf')!.usPerEvent;
    const bt = rows.find((r) => r.name === 'bpftrace')!.usPerEvent;
    const floor = rows.find((r) => r.name === FLOOR)!.usPerEvent;
    for (const r of rows) {
      const above = r.name.startsWith('aya-node') ? (r.usPerEvent - floor).toFixed(1) : '';
      console.log(
        `| ${rate.toLocaleString('en-US')} | ${r.name} | ${r.usPerEvent.toFixed(1)} | ${above} | ${(r.usPerEvent / c).toFixed(2)} | ${(r.usPerEvent / bt).toFixed(2)} | ${r.runsPerEvent.toFixed(2)} | ${r.seen}/${r.events} | ${r.idleMs.toFixed(1)} ms |`,
      );
    }
  }
  if (BASELINE !== undefined) await sideBySide(load, node('for-await'), node('for-await', BASELINE));
}

/**
 * What a change bought: this build's default loop and the BASELINE build's, consuming the same
 * events at the same time (one after the other, the 2x swings of this VM between runs hide a
 * 1.5x difference), ROUNDS rounds per rate (3 by default), the order alternating; medians.
 */
async function sideBySide(load: string, current: Consumer, baseline: Consumer) {
  const rounds = Number(process.env.ROUNDS ?? 3);
  console.log(`\nSide by side (both at once, ${rounds} rounds per rate, medians): this build's default loop against BASELINE=${BASELINE}`);
  console.log('| events/s | this build µs CPU/event | BASELINE µs CPU/event | this / BASELINE | events seen (each) |');
  console.log('| ---: | ---: | ---: | ---: | --- |');
  for (const rate of RATES) {
    const ours: number[] = [];
    const theirs: number[] = [];
    const seen: string[] = [];
    for (let round = 0; round < rounds; round++) {
      const group = round % 2 === 0 ? [current, baseline] : [baseline, current];
      const rows = await measure(group, load, rate);
      const mine = rows.find((r) => r.name === current.name)!;
      const other = rows.find((r) => r.name === baseline.name)!;
      ours.push(mine.usPerEvent);
      theirs.push(other.usPerEvent);
      seen.push(`${mine.seen}/${mine.events} ${other.seen}/${other.events}`);
    }
    console.log(
      `| ${rate.toLocaleString('en-US')} | ${median(ours).toFixed(1)} | ${median(theirs).toFixed(1)} | ${(median(ours) / median(theirs)).toFixed(2)} | ${seen.join(', ')} |`,
    );
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

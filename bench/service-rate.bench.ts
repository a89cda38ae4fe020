// CPU per event at service rates (issue 13, table 1): what a process pays to consume events
// from a real tracepoint at 100, 1,000 and 10,000 events/s, for aya-node's default `for await`
// and its `batches()` loop, beside a C consumer over libbpf and bpftrace, all measured in this
// run on the same workload, one consumer at a time.
//
// The workload (c/openat_load.c) calls openat on a missing path at a paced rate under the comm
// "ayaload"; every consumer traces sys_exit_openat of that comm and reads each event's fields:
// aya-node through the bundled opensnoop (c/opensnoop-consumer.cjs, the built package), libbpf
// through the same program written in C (c/opensnoop.bpf.c, c/opensnoop_consumer.c, both built
// here with clang and gcc), bpftrace through a one-line printf of the same event. Two limit rows
// read aya-node's program through its native reader with the least JavaScript possible
// (c/opensnoop-native.cjs): what aya-node's stream machinery costs above them, and they above
// the bare Node floors.
//
// A consumer's CPU is the sum over its threads of /proc/PID/task/TID/schedstat (ns on CPU), in
// windows after it said it is ready and after a warm-up at each rate: WARMUP_EVENTS events
// (3,000 by default, at least 2 s) of the same workload at the same rate. Start-up is left out:
// bpftrace's compile, and V8 tiering a Node consumer's loop up, which at 100 events/s took
// 2,000-2,500 events here (after a 2-s warm-up, about half of the measured window's CPU was
// that). A service consuming for hours pays the steady state. Each number is the median of
// ROUNDS windows (3) of SECONDS (5). Also printed: how many times the consumer's threads were woken per event (from
// the same file; steadier than time on a shared VM), each consumer's CPU while no events arrive
// (3 s idle), and every consumer's CPU per event in each window.
//
// Needs root, gcc, clang-22, libbpf-dev and bpftrace (scripts/setup.sh bench installs them).
// Run: node --import=tsx bench/service-rate.bench.ts   (RATES=100,1000,10000 by default)
// BASELINE=DIR measures, instead of the table, this build's default loop beside another
// checkout's of aya-node, built (npm run build), at the same time: what a change bought, e.g.
// `git worktree add /tmp/base <commit>` and build it.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { schedstat, schedstatSince } from './schedstat';

const RATES = (process.env.RATES ?? '100,1000,10000').split(',').map(Number);
const SECONDS = Number(process.env.SECONDS ?? 5);
const WARMUP_EVENTS = Number(process.env.WARMUP_EVENTS ?? 3000);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
if (!(Number.isInteger(ROUNDS) && ROUNDS >= 1)) throw new RangeError(`ROUNDS must be an integer of at least 1, got ${process.env.ROUNDS}`);
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

interface Row {
  name: string;
  /** Median over the windows. */
  usPerEvent: number;
  perWindow: number[];
  runsPerEvent: number;
  idleMs: number;
  seen: number;
}

/**
 * Runs the workload under every consumer of `group` at the same time (one process each, kept
 * across the rates), after 3 s with no events (each one's idle CPU). At each rate: a warm-up of
 * WARMUP_EVENTS events (at least 2 s) at that rate, then ROUNDS measured windows of SECONDS
 * each. Returns each consumer's row per rate, and how many events the workload made in all.
 */
async function measure(group: Consumer[], load: string, rates: number[]) {
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
  // The workload writes a byte per event to each floor's stdin: its fds 3, 4, ...
  const fds = started.flatMap((s) => s.consumer.wakeFd?.(s.child) ?? []);
  let events = 0;
  // Not execFileSync: this process must keep reading the consumer's stdout meanwhile. bpftrace
  // prints every event there, and blocked behind a full pipe it lost most of them at 10,000/s.
  const run = async (rate: number, seconds: number) => {
    const workload = spawn(load, [String(rate), String(seconds), ...fds.map((_, k) => String(3 + k))], {
      stdio: ['ignore', 'ignore', 'inherit', ...fds],
    });
    const code = await new Promise((resolve) => workload.on('exit', resolve));
    if (code !== 0) throw new Error(`the workload exited with ${code}`);
    events += Math.floor(rate * seconds);
    await sleep(300);
  };
  const windows = new Map<number, number[][]>();
  const runs = new Map<number, number[][]>();
  for (const rate of rates) {
    // The warm-up is at the rate measured: V8 takes 2,000-2,500 events to tier a consumer's loop
    // up at 100/s, and a warm-up at 1,000/s left the loop at 100/s as slow as a cold one.
    await run(rate, Math.max(2, WARMUP_EVENTS / rate));
    windows.set(rate, started.map(() => []));
    runs.set(rate, started.map(() => []));
    for (let round = 0; round < ROUNDS; round++) {
      const before = started.map((s) => schedstat(s.child.pid!));
      await run(rate, SECONDS);
      const after = started.map((s) => schedstat(s.child.pid!));
      started.forEach((_, i) => {
        const busy = schedstatSince(before[i], after[i]);
        windows.get(rate)![i].push(busy.onCpuNs / (rate * SECONDS) / 1000);
        runs.get(rate)![i].push(busy.runs / (rate * SECONDS));
      });
    }
  }
  for (const { consumer, child } of started) {
    // 'close', not 'exit': the consumer's last output can still be in the pipe when 'exit' comes.
    const exited = new Promise((r) => child.on('close', r));
    child.kill(consumer.name === 'bpftrace' ? 'SIGINT' : 'SIGTERM');
    // bpftrace has been seen to ignore a SIGINT on this VM (11 minutes in epoll_wait): then kill it.
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
  }
  const rows = new Map<number, Row[]>();
  for (const rate of rates) {
    rows.set(
      rate,
      started.map(({ consumer, output }, i) => ({
        name: consumer.name,
        usPerEvent: median(windows.get(rate)![i]),
        perWindow: windows.get(rate)![i],
        runsPerEvent: median(runs.get(rate)![i]),
        idleMs: schedstatSince(idle0[i], idle1[i]).onCpuNs / 1e6,
        seen: consumer.seen(output.text),
      })),
    );
  }
  return { rows, events };
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
  /** The least JavaScript over aya-node's native reader (internal API): what the stream machinery adds above it. */
  const limit = (mode: string, label: string): Consumer => ({
    name: `aya-node limit: ${label}`,
    start: () => spawn(process.execPath, [join(here, 'opensnoop-native.cjs'), COMM, mode], { stdio: ['ignore', 'pipe', 'pipe'] }),
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
  if (BASELINE !== undefined) {
    await sideBySide(load, node('for-await'), node('for-await', BASELINE));
    return;
  }
  const consumers: Consumer[] = [
    node('for-await'),
    node('ring'),
    node('batches'),
    limit('await', 'native reader, leanest for await'),
    limit('callback', 'native reader, callback'),
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
    `CPU per event of the consuming process (all its threads), openat of a missing path, one consumer at a time; at each rate a warm-up of ` +
      `${WARMUP_EVENTS} events (at least 2 s) at that rate, then the median of ${ROUNDS} windows of ${SECONDS} s.`,
  );
  console.log('Modes: for-await = `for await (const e of tool)` (the default loop of the Opensnoop tool); ring = `for await (const e of tool.events)` (the RingBuf itself);');
  console.log(`batches = \`tool.events.batches({ minBatch: 64, lingerMs: 20 })\`. "above floor": µs/event minus the "${HANDLE_FLOOR}" row of the same rate.`);
  console.log('limit rows (c/opensnoop-native.cjs, internal API): the native reader drained in its armed callback, feeding the leanest `for await` possible, or no `for await` at all.');
  console.log('"events seen": what the consumer saw of all the events the workload made while it ran (warm-ups and windows of every rate).');
  const byConsumer = [];
  for (const c of consumers) byConsumer.push(await measure([c], load, RATES));
  console.log('| events/s | consumer | µs CPU/event | above floor | × C | × bpftrace | thread wake-ups/event | events seen | idle CPU (3 s) |');
  console.log('| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const rate of RATES) {
    const rows = byConsumer.map((m) => ({ ...m.rows.get(rate)![0], events: m.events }));
    const c = rows.find((r) => r.name === 'C libbpf')!.usPerEvent;
    const bt = rows.find((r) => r.name === 'bpftrace')!.usPerEvent;
    const floor = rows.find((r) => r.name === HANDLE_FLOOR)!.usPerEvent;
    for (const r of rows) {
      const above = r.name.startsWith('aya-node') ? (r.usPerEvent - floor).toFixed(1) : '';
      console.log(
        `| ${rate.toLocaleString('en-US')} | ${r.name} | ${r.usPerEvent.toFixed(1)} | ${above} | ${(r.usPerEvent / c).toFixed(2)} | ${(r.usPerEvent / bt).toFixed(2)} | ${r.runsPerEvent.toFixed(2)} | ${r.seen}/${r.events} | ${r.idleMs.toFixed(1)} ms |`,
      );
    }
  }
  for (const m of byConsumer) {
    const perRate = RATES.map((rate) => `${rate}/s: ${m.rows.get(rate)![0].perWindow.map((v) => v.toFixed(1)).join(', ')}`);
    console.log(`  ${m.rows.get(RATES[0])![0].name}, µs CPU/event in each window: ${perRate.join('; ')}`);
  }
}

/**
 * What a change bought: this build's default loop and the BASELINE build's, consuming the same
 * events at the same time (one after the other, the 2x swings of this VM between runs hid a
 * 1.5x difference), in the same windows; medians. Twice, in both spawn orders: of two identical
 * consumers, the one started (and attached) first cost up to a third less per event here at
 * 100 and 1,000/s, so one order alone favours the build started first.
 */
async function sideBySide(load: string, current: Consumer, baseline: Consumer) {
  const first = await measure([current, baseline], load, RATES);
  const second = await measure([baseline, current], load, RATES);
  console.log(`\nSide by side (both at once, the same events, medians of ${ROUNDS} windows, in both start orders): this build's default loop against BASELINE=${BASELINE}`);
  console.log('| events/s | this build first: this, BASELINE µs CPU/event | BASELINE first: BASELINE, this | this / BASELINE (geometric mean of the two orders) | events seen (each) |');
  console.log('| ---: | ---: | ---: | ---: | --- |');
  for (const rate of RATES) {
    const [mine1, other1] = first.rows.get(rate)!;
    const [other2, mine2] = second.rows.get(rate)!;
    const ratio = Math.sqrt((mine1.usPerEvent / other1.usPerEvent) * (mine2.usPerEvent / other2.usPerEvent));
    const seen = [mine1, other1].map((r) => `${r.seen}/${first.events}`).concat([other2, mine2].map((r) => `${r.seen}/${second.events}`));
    console.log(
      `| ${rate.toLocaleString('en-US')} | ${mine1.usPerEvent.toFixed(1)}, ${other1.usPerEvent.toFixed(1)} | ${other2.usPerEvent.toFixed(1)}, ${mine2.usPerEvent.toFixed(1)} | ${ratio.toFixed(2)} | ${seen.join(' ')} |`,
    );
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

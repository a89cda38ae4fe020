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
// read after it said it is ready, so start-up (and bpftrace's compile) is left out.
// Also printed: how many times the consumer's threads were woken per event (from the same
// file; steadier than time on a shared VM), and each consumer's CPU while no events arrive (3 s idle).
//
// Needs root, gcc, clang-22, libbpf-dev and bpftrace (scripts/setup.sh bench installs them).
// Run: node --import=tsx bench/service-rate.bench.ts   (SECONDS=5 per rate, RATES=100,1000,10000 by default)

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { schedstat, schedstatSince } from './schedstat';

const RATES = (process.env.RATES ?? '100,1000,10000').split(',').map(Number);
const SECONDS = Number(process.env.SECONDS ?? 5);
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

async function measure(consumer: Consumer, load: string, rate: number) {
  const child = consumer.start();
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor(child, consumer.name === 'bpftrace' ? /Attaching/ : /ready/, consumer.name === 'bpftrace' ? 'stdout' : 'stderr');
  // bpftrace prints its events on stdout; the others print their count at exit.
  await sleep(500);
  const idle0 = schedstat(child.pid!);
  await sleep(3000);
  const idle1 = schedstat(child.pid!);
  const fd = consumer.wakeFd?.(child);
  // Not execFileSync: this process must keep reading the consumer's stdout meanwhile. bpftrace
  // prints every event there, and blocked behind a full pipe it lost most of them at 10,000/s.
  const workload = spawn(load, [String(rate), String(SECONDS), ...(fd === undefined ? [] : ['3'])], {
    stdio: ['ignore', 'ignore', 'inherit', ...(fd === undefined ? [] : [fd])],
  });
  const code = await new Promise((resolve) => workload.on('exit', resolve));
  if (code !== 0) throw new Error(`the workload exited with ${code}`);
  await sleep(300);
  const after = schedstat(child.pid!);
  // 'close', not 'exit': the consumer's last output can still be in the pipe when 'exit' comes.
  const exited = new Promise((r) => child.on('close', r));
  child.kill(consumer.name === 'bpftrace' ? 'SIGINT' : 'SIGTERM');
  // bpftrace has been seen to ignore a SIGINT on this VM (11 minutes in epoll_wait): then kill it.
  const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(killer);
  const events = rate * SECONDS;
  const busy = schedstatSince(idle1, after);
  return {
    usPerEvent: busy.onCpuNs / events / 1000,
    runsPerEvent: busy.runs / events,
    idleMs: schedstatSince(idle0, idle1).onCpuNs / 1e6,
    seen: consumer.seen(out),
    events,
  };
}

async function main() {
  const { load, consumer, object } = build();
  const node = (mode: string): Consumer => ({
    name: `aya-node ${mode}`,
    start: () => spawn(process.execPath, [join(here, 'opensnoop-consumer.cjs'), COMM, mode], { stdio: ['ignore', 'pipe', 'pipe'] }),
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
  console.log(`CPU per event of the consuming process (all its threads), ${SECONDS} s per rate, openat of a missing path.`);
  console.log('Modes: for-await = `for await (const e of tool)` (the default loop of the Opensnoop tool); ring = `for await (const e of tool.events)` (the RingBuf itself);');
  console.log(`batches = \`tool.events.batches({ minBatch: 64, lingerMs: 20 })\`. "above floor": µs/event minus the "${FLOOR}" row of the same rate.`);
  console.log('| events/s | consumer | µs CPU/event | above floor | × C | × bpftrace | thread wake-ups/event | events seen | idle CPU (3 s) |');
  console.log('| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const rate of RATES) {
    const rows = [];
    for (const c of consumers) rows.push({ name: c.name, ...(await measure(c, load, rate)) });
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
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

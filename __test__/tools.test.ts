import test from 'ava';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Biolatency, Opensnoop, Profile, renderHistogram, Runqlat, Syscount, Tcplife, type Open, type TcpLife } from '../src';
import { runCli, within } from './helpers';

async function firstMatching<T>(events: AsyncIterable<T>, match: (ev: T) => boolean): Promise<T> {
  for await (const ev of events) if (match(ev)) return ev;
  throw new Error('the stream ended first');
}

/** Runs the CLI (from source) with `args` while `workload` runs; returns its stdout. */
/**
 * Runs the CLI with a workload started once it traces. Tests using it are serial: a concurrent
 * test's synchronous exec would hold this worker's event loop past the CLI's --duration.
 */
async function cli(args: string[], workload: () => void | Promise<void>, options?: { interrupt?: boolean }): Promise<string> {
  return (await runCli(args, workload, options)).stdout;
}

// Serial: concurrent tests here block the worker's event loop for seconds with synchronous
// execs (gcc, shell busy loops, the CLI's --help), and the 5 s waits below are timed on that loop.
test.serial('opensnoop sees this process open a unique file, with its fd and flags, and a failed open with its errno', async (t) => {
  const path = join(tmpdir(), `aya-node-open-${process.pid}-${Date.now()}`);
  writeFileSync(path, 'x');
  using snoop = Opensnoop.open({ pid: process.pid });
  const opened = firstMatching(snoop, (ev: Open) => ev.path === path);
  const fd = openSync(path, 'r');
  closeSync(fd);
  const ev = await within(5000, 'the open', opened);
  t.is(ev.pid, process.pid);
  t.is(ev.retval, fd);
  t.is(ev.flags & 3, 0, 'O_RDONLY');

  const missing = `${path}-missing`;
  const failed = firstMatching(snoop, (e: Open) => e.path === missing);
  t.throws(() => openSync(missing, 'r'));
  t.is((await within(5000, 'the failed open', failed)).retval, -2);
});

test.serial('opensnoop --comm filters in the kernel and the CLI prints JSON lines', async (t) => {
  const path = join(tmpdir(), `aya-node-cli-${process.pid}-${Date.now()}`);
  writeFileSync(path, 'x');
  const out = await cli(['opensnoop', '--comm', 'cat', '--json', '--duration', '3'], () => {
    execFileSync('cat', [path]);
    execFileSync('head', ['-c1', path]);
  });
  const events = out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Open);
  t.true(events.some((e) => e.path === path && e.comm === 'cat'), 'cat opening the file is reported');
  t.true(events.every((e) => e.comm === 'cat'), 'only cat is reported');
});

test('tcplife reports a loopback TCP connection with its ports and bytes when it closes', async (t) => {
  const net = await import('node:net');
  using life = Tcplife.open();
  const server = net.createServer((socket) => {
    socket.on('data', () => socket.end(Buffer.alloc(3000, 1)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const port = (server.address() as import('node:net').AddressInfo).port;
  const seen = firstMatching(life, (c: TcpLife) => c.remotePort === port && c.pid === process.pid);
  await new Promise<void>((resolve, reject) => {
    const client = net.connect(port, '127.0.0.1', () => client.write(Buffer.alloc(1000, 2)));
    client.on('data', () => {});
    client.on('end', () => client.end());
    client.on('close', () => resolve());
    client.on('error', reject);
  });
  const conn = await within(5000, 'the closed connection', seen);
  t.is(conn.family, 'ipv4');
  t.is(conn.remoteAddress, '127.0.0.1');
  t.is(conn.localAddress, '127.0.0.1');
  t.true(conn.localPort > 0);
  // The kernel's counters also count one sequence number each for SYN and FIN.
  t.true(conn.txBytes >= 1000n && conn.txBytes <= 1002n, `bytes the client sent (${conn.txBytes})`);
  t.true(conn.rxBytes >= 3000n && conn.rxBytes <= 3002n, `bytes the client received (${conn.rxBytes})`);
  t.true(conn.durationMs > 0);
});

test.serial('syscount counts a known number of a rare syscall, through the API and --json', async (t) => {
  using sc = Syscount.open({ pid: process.pid });
  for (let i = 0; i < 1000; i++) void process.ppid; // each read is one getppid(2)
  const getppid = sc.snapshot().find((c) => c.name === 'getppid');
  t.truthy(getppid, 'getppid was counted');
  t.true(getppid!.count >= 1000 && getppid!.count <= 1005, `1000 calls counted (${getppid!.count})`);
  t.true(getppid!.totalNs > 0);
  t.is(sc.snapshot().find((c) => c.name === 'getppid'), undefined, 'snapshot() reset the counts');

  const out = await cli(['syscount', '--pid', String(process.pid), '--duration', '3', '--json'], () => {
    for (let i = 0; i < 500; i++) void process.ppid;
  });
  const rows = out.trim().split('\n').map((l) => JSON.parse(l));
  const row = rows.find((r) => r.name === 'getppid');
  t.true(row && row.count >= 500, `the CLI counted the 500 calls (${row?.count})`);
});

test('biolatency sees direct I/O the test does, and the histogram renders as bars', async (t) => {
  const file = join(tmpdir(), `aya-node-bio-${process.pid}`);
  t.teardown(() => rmSync(file, { force: true }));
  using bio = Biolatency.open();
  execFileSync('dd', ['if=/dev/zero', `of=${file}`, 'bs=4096', 'count=200', 'oflag=direct'], { stdio: 'ignore' });
  const hist = bio.histogram();
  // Each O_DIRECT write is a block request; a few may be merged or still in flight.
  t.true(hist.total >= 180, `about 200 direct writes were timed (${hist.total})`);
  t.true(hist.buckets.every((b) => b.high === b.low * 2 || b.low === 0));
  const text = renderHistogram(hist);
  t.regex(text, /^usecs\n\[\d+, \d+\)\s+\d+ \|@+\s*\|/);
});

test('runqlat times the run-queue waits of processes competing for the CPUs', async (t) => {
  // Three busy shells on two CPUs: the one we filter on must wait in the run queue.
  const spin = () => spawn('/bin/sh', ['-c', 'i=0; while [ $i -lt 150000 ]; do i=$((i+1)); done'], { stdio: 'ignore' });
  const busy = [spin(), spin(), spin()];
  t.teardown(() => busy.forEach((c) => c.kill()));
  using rq = Runqlat.open({ pid: busy[0].pid });
  await new Promise((r) => setTimeout(r, 1000));
  const hist = rq.histogram({ reset: true });
  t.true(hist.total > 0, `waits of the filtered process were timed (${hist.total})`);
  t.is(rq.histogram().total < hist.total + 1000, true);
});

/** Builds a C program that spins in `aya_node_busy_loop` (frame pointers kept for stacks). */
function busyProgram(t: import('ava').ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'aya-node-profile-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, 'busy.c'),
    `#include <stdint.h>
volatile uint64_t sink;
__attribute__((noinline)) void aya_node_busy_loop(void) { for (uint64_t i = 0; i < 4000000000ull; i++) sink += i; }
int main(void) { aya_node_busy_loop(); return 0; }
`,
  );
  execFileSync('gcc', ['-O1', '-fno-omit-frame-pointer', '-o', join(dir, 'busy'), join(dir, 'busy.c')]);
  return join(dir, 'busy');
}

test('profile finds the function a busy C program spends its time in, as folded stacks', async (t) => {
  const busy = spawn(busyProgram(t), [], { stdio: 'ignore' });
  t.teardown(() => busy.kill());
  using profile = Profile.open({ pid: busy.pid, frequency: 99 });
  await new Promise((r) => setTimeout(r, 1500));
  const stacks = profile.stacks();
  const samples = stacks.reduce((n, s) => n + s.count, 0);
  const inLoop = stacks.filter((s) => s.frames.includes('aya_node_busy_loop')).reduce((n, s) => n + s.count, 0);
  t.true(samples >= 50, `about 99 samples a second were taken (${samples} in 1.5 s)`);
  t.true(inLoop / samples > 0.8, `most samples are in aya_node_busy_loop (${inLoop}/${samples})`);
  t.regex(profile.folded(), /^busy;.*aya_node_busy_loop.* \d+$/m);
});

test.serial('tcplife, biolatency and runqlat report the same workloads through --json', async (t) => {
  const net = await import('node:net');
  const server = net.createServer((socket) => socket.on('data', () => socket.end('pong')));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const port = (server.address() as import('node:net').AddressInfo).port;
  const tcp = await cli(['tcplife', '--duration', '3', '--json'], () =>
    new Promise<void>((resolve) => {
      const client = net.connect(port, '127.0.0.1', () => client.write('ping'));
      client.on('data', () => client.end());
      client.on('close', () => resolve());
    }),
  );
  const conns = tcp.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as TcpLife);
  t.true(conns.some((c) => c.remotePort === port && c.remoteAddress === '127.0.0.1'), 'the loopback connection is reported');

  const file = join(tmpdir(), `aya-node-bio-cli-${process.pid}`);
  t.teardown(() => rmSync(file, { force: true }));
  // Ctrl-C once the workload is done: on a busy machine 100 direct writes can take longer than
  // a short --duration (a CI run saw fewer than 90 in 2 s).
  const bio = await cli(['biolatency', '--duration', '60', '--json'], () => {
    execFileSync('dd', ['if=/dev/zero', `of=${file}`, 'bs=4096', 'count=100', 'oflag=direct'], { stdio: 'ignore' });
  }, { interrupt: true });
  const bioTotal = JSON.parse(bio.trim().split('\n').pop()!).total;
  t.true(bioTotal >= 90, `the 100 direct writes are in the histogram (${bioTotal})`);

  const runq = await cli(['runqlat', '--duration', '60', '--json'], () => {
    execFileSync('/bin/sh', ['-c', 'for i in 1 2 3; do (i=0; while [ $i -lt 50000 ]; do i=$((i+1)); done) & done; wait']);
  }, { interrupt: true });
  t.true(JSON.parse(runq.trim().split('\n').pop()!).total > 0, 'run-queue waits are in the histogram');
});

test.serial('profile --json reports the busy function of the process it was pointed at', async (t) => {
  const busy = spawn(busyProgram(t), [], { stdio: 'ignore' });
  t.teardown(() => busy.kill());
  const out = await cli(['profile', '--pid', String(busy.pid), '--frequency', '99', '--duration', '2', '--json'], () => undefined);
  const stacks = out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { comm: string; frames: string[]; count: number });
  t.true(stacks.length > 0 && stacks.every((st) => st.comm === 'busy'), 'only the busy process was sampled');
  t.true(stacks.some((st) => st.frames.includes('aya_node_busy_loop')), 'its loop function is named');
});

test('without capabilities the CLI fails with a message naming the ones it needs', (t) => {
  const run = spawnSync('setpriv', ['--inh-caps=-all', '--bounding-set=-all', '--', process.execPath, '--import=tsx', join(__dirname, '..', 'src', 'cli.ts'), 'execsnoop'], { encoding: 'utf8', timeout: 30_000 });
  t.is(run.status, 1);
  t.regex(run.stderr, /CAP_BPF/);
  t.regex(run.stderr, /CAP_PERFMON/);
});

// The command line as a user runs it: from a terminal (until Ctrl-C), into a pipe, with odd options.

const cliPath = join(__dirname, '..', 'src', 'cli.ts');

/** Starts the CLI and resolves once it says it is tracing; `exit` resolves with its status. */
function startCli(args: string[], shell?: string) {
  const child = shell
    ? spawn('bash', ['-o', 'pipefail', '-c', shell.replace('CLI', `${process.execPath} --import=tsx ${cliPath} ${args.join(' ')}`)], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, ['--import=tsx', cliPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const tracing = new Promise<void>((resolve) =>
    child.stderr.on('data', (d: Buffer) => {
      err += d;
      if (err.includes('Tracing...')) resolve();
    }),
  );
  return { child, tracing, exit, out: () => out, err: () => err };
}

test('the periodic tools run until Ctrl-C without --duration, then print their report', async (t) => {
  const runs = ['syscount', 'biolatency', 'runqlat', 'profile'].map((tool) => ({ tool, run: startCli([tool, '--json']) }));
  t.teardown(() => runs.forEach(({ run }) => run.child.exitCode === null && run.child.kill('SIGKILL')));
  await within(60_000, 'every tool to start tracing', Promise.all(runs.map((r) => r.run.tracing)));
  await new Promise((r) => setTimeout(r, 1500));
  for (const { tool, run } of runs) t.is(run.child.exitCode, null, `${tool} is still running 1.5 s later`);
  for (const { run } of runs) run.child.kill('SIGINT');
  for (const { tool, run } of runs) {
    t.is(await within(60_000, `${tool} to exit`, run.exit), 0, `${tool} exits 0 on SIGINT`);
    t.notRegex(run.err(), /Error|at /, `${tool}: nothing but the banner on stderr`);
  }
  const syscount = runs[0].run.out().trim().split('\n').map((l) => JSON.parse(l) as { name: string; count: number });
  t.true(syscount.length > 0 && syscount.every((c) => c.count > 0), 'syscount printed counts at the end');
});

test('execsnoop into `head` stops quietly when head exits', async (t) => {
  const run = startCli(['execsnoop'], 'CLI | head -n 3');
  t.teardown(() => run.child.exitCode === null && run.child.kill('SIGKILL'));
  await within(60_000, 'execsnoop to start tracing', run.tracing);
  const trigger = setInterval(() => spawn('/bin/true'), 50);
  try {
    t.is(await within(60_000, 'the pipeline to end', run.exit), 0, 'the pipeline (pipefail) exits 0');
  } finally {
    clearInterval(trigger);
  }
  t.is(run.out().trim().split('\n').length, 3);
  t.notRegex(run.err(), /EPIPE|Error|at /, 'no stack trace');
});

test('--interval 0 and a bad --pid are refused; a --duration over 24 days does not end at once', async (t) => {
  for (const args of [['syscount', '--interval', '0'], ['profile', '--interval', '-1'], ['execsnoop', '--pid', '1.5'], ['runqlat', '--frequency', '9']]) {
    const run = startCli(args);
    t.is(await within(60_000, `aya-node ${args.join(' ')} to exit`, run.exit), 1, args.join(' '));
    t.regex(run.err(), new RegExp(`aya-node: .*--${args[2] === '9' ? 'frequency' : args[1].slice(2)}`), `${args.join(' ')} names the option`);
    t.notRegex(run.err(), /\n\s+at /, 'no stack trace');
  }
  // Over 24 days: a Node.js timer would fire after 1 ms. Reports every 200 ms, counted by the
  // child's own clock (timestamps in --json would need a format change; the count is bounded).
  const run = startCli(['syscount', '--duration', String(30 * 24 * 3600), '--interval', '0.2']);
  t.teardown(() => run.child.exitCode === null && run.child.kill('SIGKILL'));
  await within(60_000, 'syscount to start tracing', run.tracing);
  await new Promise((r) => setTimeout(r, 1500));
  t.is(run.child.exitCode, null, 'still running 1.5 s later');
  run.child.kill('SIGINT');
  t.is(await within(60_000, 'syscount to exit', run.exit), 0);
  t.true(run.out().split('SYSCALL').length - 1 >= 2, 'interval reports, then the final one');
});

test('each tool has its own --help', (t) => {
  const help = (tool: string) => execFileSync(process.execPath, ['--import=tsx', cliPath, tool, '--help'], { encoding: 'utf8' });
  const syscount = help('syscount');
  t.regex(syscount, /usage: aya-node syscount/);
  t.regex(syscount, /--by-process/);
  t.notRegex(syscount, /--comm|--frequency|\n {2}execsnoop/);
  const execsnoop = help('execsnoop');
  t.regex(execsnoop, /--comm/);
  t.notRegex(execsnoop, /--interval|--by-process/);
});

// `aya-node exporter` as Prometheus sees it: the output passes `promtool check metrics`, and a
// real Prometheus server (Debian's, on loopback, own data directory, 1 s scrape interval) scrapes
// it while a known workload runs; PromQL through the server's HTTP API returns the expected
// counts and histogram quantiles. SIGTERM detaches every program.
// Needs the build (dist/cli.js) and the `prometheus` package (scripts/setup.sh installs both).

import test from 'ava';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { syscallName } from '../src/tools/syscalls';
import { bpftoolList, uniqueTrue, within } from './helpers';

const repo = resolve(__dirname, '..');
const cli = join(repo, 'dist', 'cli.js');
const haveProm = existsSync('/usr/bin/prometheus') && existsSync('/usr/bin/promtool');
const work = mkdtempSync(join(tmpdir(), 'aya-node-prom-'));
const children: ChildProcess[] = [];

test.after.always(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

/** A TCP port nobody listens on now (the kernel picks it). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

function spawnTracked(file: string, args: string[]): { child: ChildProcess; stderr: () => string } {
  const child = spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  return { child, stderr: () => err };
}

/** Starts the exporter CLI on a free loopback port and waits until /healthz answers. */
async function startExporter(args: string[] = []) {
  const port = await freePort();
  const { child, stderr } = spawnTracked(process.execPath, [cli, 'exporter', '--host', '127.0.0.1', '--port', String(port), ...args]);
  const url = `http://127.0.0.1:${port}`;
  await within(30_000, `the exporter on ${url} (stderr: ${stderr()})`, (async () => {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the exporter exited: ${stderr()}`);
      try {
        if ((await fetch(`${url}/healthz`)).ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })());
  // 'close', not 'exit': the tests read what the exporter printed last once it is gone, and
  // 'exit' can come before the end of its stderr has.
  const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
  return { child, url, port, stderr, exited };
}

async function waitFor<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The ids of the programs a process holds fds of (`prog_id:` in /proc/PID/fdinfo). */
function programsOf(pid: number): number[] {
  const ids: number[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
    try {
      const m = /^prog_id:\s*(\d+)$/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
      if (m) ids.push(Number(m[1]));
    } catch {
      // closed while we looked
    }
  }
  return [...new Set(ids)];
}

test('the exporter serves /metrics that promtool accepts, OpenMetrics on request, and detaches on SIGTERM', async (t) => {
  if (!haveProm) return t.fail('promtool is missing: run scripts/setup.sh');
  const exporter = await startExporter();
  const text = await fetch(`${exporter.url}/metrics`);
  t.is(text.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  const body = await text.text();
  const check = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8' });
  t.is(check.status, 0, `promtool check metrics: ${check.stdout}${check.stderr}`);
  t.is(check.stdout + check.stderr, '', 'no lint findings');
  for (const name of ['aya_syscalls_total', 'aya_process_syscalls_total', 'aya_runqlat_seconds', 'aya_biolatency_seconds', 'aya_tcp_connections_total', 'aya_execs_total', 'aya_stream_dropped_events_total']) {
    t.regex(body, new RegExp(`^# TYPE ${name} (counter|histogram)$`, 'm'));
  }
  // Every bucket bound is there, empty ones too: 63 finite bounds and +Inf.
  t.is(body.match(/^aya_biolatency_seconds_bucket\{/gm)?.length, 64);
  t.regex(body, /^aya_stream_dropped_events_total\{stream="execsnoop"\} 0$/m);

  const om = await fetch(`${exporter.url}/metrics`, { headers: { accept: 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5' } });
  t.is(om.headers.get('content-type'), 'application/openmetrics-text; version=1.0.0; charset=utf-8');
  const omBody = await om.text();
  t.regex(omBody, /^# TYPE aya_syscalls counter$/m, 'OpenMetrics names the counter family without _total');
  t.regex(omBody, /^aya_syscalls_total\{syscall="[a-z0-9_]+"\} \d+$/m);
  t.true(omBody.endsWith('# EOF\n'));
  t.is((await fetch(`${exporter.url}/healthz`)).status, 200);
  t.is((await fetch(`${exporter.url}/nothing`)).status, 404);

  const programs = programsOf(exporter.child.pid!);
  t.true(programs.length >= 8, `the exporter holds its programs (${programs.length})`);
  exporter.child.kill('SIGTERM');
  t.is(await within(10_000, 'the exporter to exit', exporter.exited), 0);
  t.regex(exporter.stderr(), /stopped, programs detached/);
  const gone = await waitFor('the programs to be unloaded', 10_000, async () => {
    const left = bpftoolList<{ id: number }>('prog');
    return programs.every((id) => !left.some((p) => p.id === id)) ? true : undefined;
  });
  t.true(gone);
});

test('the exporter rejects bad arguments with a message', async (t) => {
  const bad = spawnSync(process.execPath, [cli, 'exporter', '--tools', 'nope'], { encoding: 'utf8' });
  t.is(bad.status, 1);
  t.regex(bad.stderr, /unknown tool "nope"/);
  const port = spawnSync(process.execPath, [cli, 'exporter', '--port', '99999'], { encoding: 'utf8' });
  t.is(port.status, 1);
  t.regex(port.stderr, /--port takes a port number/);
  const help = spawnSync(process.execPath, [cli, 'exporter', '--help'], { encoding: 'utf8' });
  t.is(help.status, 0);
  t.regex(help.stdout, /^usage: aya-node exporter \[--port 9435\]/);
  t.regex(spawnSync(process.execPath, [cli, '--help'], { encoding: 'utf8' }).stdout, /^ {2}exporter +Prometheus metrics/m);
});

test('the exporter runs with exactly the DaemonSet\'s capabilities (CAP_BPF, CAP_PERFMON) and says which one is missing', async (t) => {
  if (!existsSync('/usr/bin/setpriv')) return t.pass('setpriv (util-linux) is missing: skipped');
  // As user 0, a program's capabilities after exec are its bounding set: limit it to the two.
  const port = await freePort();
  const { child, stderr } = spawnTracked('/usr/bin/setpriv', ['--bounding-set=-all,+bpf,+perfmon', process.execPath, cli, 'exporter', '--host', '127.0.0.1', '--port', String(port)]);
  const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
  const body = await waitFor(`the capability-limited exporter (stderr: ${stderr()})`, 30_000, async () => {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    return res.ok ? res.text() : undefined;
  });
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  // CAP_PERFMON is 38, CAP_BPF 39: effective set 0xc000000000 and nothing else.
  t.regex(status, /^CapEff:\s*000000c000000000$/m);
  t.regex(body, /^aya_syscalls_total\{syscall="[a-z0-9_]+"\} \d+$/m);
  t.regex(body, /^aya_runqlat_seconds_count \d+$/m);
  child.kill('SIGTERM');
  t.is(await within(10_000, 'the exporter to exit', exited), 0);

  for (const [caps, missing] of [['+perfmon', /failed to create map .*Operation not permitted/], ['+bpf', /loading program .*Operation not permitted/]] as const) {
    const run = spawnSync('/usr/bin/setpriv', [`--bounding-set=-all,${caps}`, process.execPath, cli, 'exporter', '--port', '0'], { encoding: 'utf8', timeout: 30_000 });
    t.is(run.status, 1, `with only ${caps}`);
    t.regex(run.stderr, missing);
  }
});

/** A Python program with its own comm: a known number of a rare syscall, then TCP connections held 250 ms. */
const WORKLOAD = `
import ctypes, socket, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl(15, sys.argv[1].encode(), 0, 0, 0)  # PR_SET_NAME
for _ in range(int(sys.argv[2])):
    libc.syscall(139, 0, 0, 0)  # sysfs(2): nobody else calls it
for _ in range(int(sys.argv[4])):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[3])))
    time.sleep(0.25)
    s.close()
print("done", flush=True)
time.sleep(30)  # stay alive (and named) while Prometheus scrapes
`;

const RARE_CALLS = 777;
const CONNECTIONS = 4;
const EXECS = 5;

test('a real Prometheus scrapes the exporter: exact counts of a known workload and histogram quantiles', async (t) => {
  if (!haveProm) return t.fail('prometheus is missing: run scripts/setup.sh');
  if (process.arch !== 'x64') return t.pass('the workload calls sysfs(2) by its x86_64 number: skipped on ' + process.arch);
  const exporter = await startExporter();
  const promPort = await freePort();
  const config = join(work, 'prometheus.yml');
  writeFileSync(config, `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: aya\n    static_configs:\n      - targets: ['127.0.0.1:${exporter.port}']\n`);
  const prom = spawnTracked('/usr/bin/prometheus', [
    `--config.file=${config}`,
    `--storage.tsdb.path=${join(work, 'data')}`,
    `--web.listen-address=127.0.0.1:${promPort}`,
    '--log.level=warn',
  ]);
  const api = `http://127.0.0.1:${promPort}/api/v1`;
  const query = async (q: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> => {
    const res = (await (await fetch(`${api}/query?query=${encodeURIComponent(q)}`)).json()) as { status: string; data: { result: never[] }; error?: string };
    if (res.status !== 'success') throw new Error(`${q}: ${res.error}`);
    return res.data.result;
  };
  const scalar = async (q: string) => {
    const r = await query(q);
    return r.length === 1 ? Number(r[0].value[1]) : undefined;
  };
  await waitFor(`Prometheus to scrape the exporter (stderr: ${prom.stderr()})`, 30_000, async () => ((await scalar('up{job="aya"}')) === 1 ? true : undefined));

  // The workload: a uniquely named process makes RARE_CALLS sysfs(2) calls and CONNECTIONS
  // connections of 250 ms; a uniquely named program is executed EXECS times.
  const comm = `aya17_${process.pid % 100000}`;
  const listener = createServer((s) => s.on('data', () => {}).on('error', () => {}));
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  t.teardown(() => listener.close());
  const py = spawn('python3', ['-c', WORKLOAD, comm, String(RARE_CALLS), String((listener.address() as AddressInfo).port), String(CONNECTIONS)], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(py);
  const { path, cleanup } = uniqueTrue();
  t.teardown(cleanup);
  for (let i = 0; i < EXECS; i++) execFileSync(path);
  await within(20_000, 'the workload', new Promise((r) => py.stdout!.once('data', r)));
  const execComm = path.split('/').pop()!.slice(0, 15);

  const sysfs = syscallName(139);
  const expect = async (q: string, want: number) => {
    const got = await waitFor(`${q} == ${want}`, 20_000, async () => {
      const v = await scalar(q);
      return v === want ? v : undefined;
    }).catch(async (err) => `${String(err)} (last: ${JSON.stringify(await query(q))})`);
    t.is(got, want, q);
  };
  await expect(`aya_syscalls_total{syscall="${sysfs}"}`, RARE_CALLS);
  await expect(`aya_execs_total{comm="${execComm}",result="ok"}`, EXECS);
  await expect(`aya_tcp_connections_total{comm="${comm}"}`, CONNECTIONS);
  await expect(`aya_tcp_connection_duration_seconds_count{comm="${comm}"}`, CONNECTIONS);
  // Every connection lasted 250 ms and some: none in a bucket up to 0.1 s, and the median is
  // interpolated inside (0.1, 0.5] (to its middle, 0.3, when all four are there; a busy machine
  // once kept one past 0.5 s, which moves it to 0.37).
  await expect(`aya_tcp_connection_duration_seconds_bucket{comm="${comm}",le="0.1"}`, 0);
  const median = await scalar(`histogram_quantile(0.5, aya_tcp_connection_duration_seconds_bucket{comm="${comm}"})`);
  t.true(median !== undefined && median > 0.1 && median <= 0.5, `median connection duration ${median}`);
  const meanDuration = await scalar(`aya_tcp_connection_duration_seconds_sum{comm="${comm}"} / aya_tcp_connection_duration_seconds_count{comm="${comm}"}`);
  t.true(meanDuration !== undefined && meanDuration >= 0.25 && meanDuration < 2, `mean connection duration ${meanDuration}`);
  // The per-process counter: everything the named process called, the sysfs calls included.
  const perProcess = await waitFor('the per-process count', 20_000, async () => {
    const v = await scalar(`aya_process_syscalls_total{comm="${comm}"}`);
    return v !== undefined && v >= RARE_CALLS ? v : undefined;
  }).catch(() => undefined);
  t.true(perProcess !== undefined && perProcess >= RARE_CALLS, `aya_process_syscalls_total{comm="${comm}"} = ${perProcess}`);

  // Run-queue latency is system-wide: the quantile is whatever it is, but a real one inside
  // the histogram's range, and the counters only grew between scrapes.
  const p99 = await waitFor('a runqlat quantile', 20_000, () => scalar('histogram_quantile(0.99, sum by (le) (rate(aya_runqlat_seconds_bucket[10s])))'));
  t.true(Number.isFinite(p99) && p99 > 0 && p99 < 10, `runqlat p99 ${p99}`);
  t.is(await scalar('sum(resets(aya_syscalls_total[1m])) + sum(resets(aya_runqlat_seconds_count[1m])) + sum(resets(aya_process_syscalls_total[1m]))'), 0, 'no counter went down');
  t.is(await scalar('aya_stream_dropped_events_total{stream="execsnoop"}'), 0);
  // Prometheus asks for OpenMetrics first: what it stored came through that format.
  const om = await query('aya_exporter_scrapes_total');
  const scrapesAs = (format: string) => Number(om.find((r) => r.metric.format === format)?.value[1]);
  t.true(scrapesAs('openmetrics') >= 3 && scrapesAs('prometheus') === 0, `Prometheus scraped OpenMetrics only: ${JSON.stringify(om)}`);
  t.true((await scalar('aya_runqlat_seconds_sum')) !== undefined);

  py.kill('SIGKILL');
  prom.child.kill('SIGTERM');
  exporter.child.kill('SIGTERM');
  t.is(await within(10_000, 'the exporter to exit', exporter.exited), 0);
});

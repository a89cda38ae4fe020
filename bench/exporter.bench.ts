// `aya-node exporter` overhead: CPU time of the exporter process (all tools, scraped every
// second) while the machine is idle and while a load of syscalls, execs and TCP connections
// runs; the load's own wall time with and without the exporter (baseline measured in the same
// run, paired round by round, on a machine shared with others); and the kernel-side run time of the
// exporter's eBPF programs during the load (BPF stats).
//
// Needs root and the build (dist/cli.js). Run: node --import=tsx bench/exporter.bench.ts

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { enableStats, loadedPrograms } from '../src';

const cli = join(resolve(__dirname, '..'), 'dist', 'cli.js');
if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` first`);
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
const IDLE_SECONDS = Number(process.env.IDLE_SECONDS ?? 10);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const SYSCALLS = 1_000_000; // dd bs=1: one read and one write per byte
const EXECS = 300;
const CONNECTIONS = 300;

/** utime + stime of a process, in seconds (from /proc/PID/stat). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** The ids of the programs a process holds fds of. */
function programsOf(pid: number): Set<number> {
  const ids = new Set<number>();
  for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
    try {
      const m = /^prog_id:\s*(\d+)$/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
      if (m) ids.add(Number(m[1]));
    } catch {
      // closed while we looked
    }
  }
  return ids;
}

/** Kernel run time of the given programs so far, in ns. */
function programRunNs(ids: Set<number>): number {
  return loadedPrograms().filter((p) => ids.has(p.id)).reduce((sum, p) => sum + p.runTimeNs, 0);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The load: SYSCALLS x 2 syscalls, EXECS execs, CONNECTIONS TCP connections; resolves with its wall time in s. */
async function load(port: number): Promise<number> {
  const script = `dd if=/dev/zero of=/dev/null bs=1 count=${SYSCALLS} 2>/dev/null
i=0; while [ $i -lt ${EXECS} ]; do /bin/true; i=$((i+1)); done
i=0; while [ $i -lt ${CONNECTIONS} ]; do exec 3<>/dev/tcp/127.0.0.1/${port}; exec 3>&-; i=$((i+1)); done`;
  const start = performance.now();
  const child = spawn('bash', ['-c', script], { stdio: 'ignore' });
  await new Promise((r) => child.once('exit', r));
  return (performance.now() - start) / 1000;
}

async function startExporter(): Promise<{ child: ChildProcess; url: string }> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const { port } = probe.address() as AddressInfo;
  await new Promise((r) => probe.close(r));
  const child = spawn(process.execPath, [cli, 'exporter', '--host', '127.0.0.1', '--port', String(port)], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) return { child, url };
    } catch {
      // not yet
    }
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error('the exporter did not start');
}

/** Scrapes every second until stopped; returns the bytes of the last scrape. */
function scraper(url: string): { stop: () => Promise<{ scrapes: number; bytes: number }> } {
  let running = true;
  let scrapes = 0;
  let bytes = 0;
  const loop = (async () => {
    while (running) {
      bytes = (await (await fetch(`${url}/metrics`)).text()).length;
      scrapes++;
      await sleep(1000);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { scrapes, bytes };
    },
  };
}

async function main(): Promise<void> {
  const server = createServer((s) => s.on('error', () => {}).end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  using _stats = enableStats();

  await load(port); // warm caches
  const baseline: number[] = [];
  const withExporter: number[] = [];
  const loadCpu: number[] = [];
  const loadProgNs: number[] = [];
  let idle = { cpu: 0, seconds: 0, scrapes: 0, bytes: 0 };

  // Rounds pair a run of the load without the exporter with one while it runs, back to back,
  // so that the machine's other work weighs on both alike.
  for (let round = 0; round < ROUNDS; round++) {
    baseline.push(await load(port));
    const { child, url } = await startExporter();
    try {
      const pid = child.pid!;
      const programs = programsOf(pid);
      await sleep(1000);
      if (round === 0) {
        // Idle: nothing but the machine's background and the scrapes.
        const s = scraper(url);
        const cpu0 = cpuSeconds(pid);
        const t0 = performance.now();
        await sleep(IDLE_SECONDS * 1000);
        const idleCpu = cpuSeconds(pid) - cpu0;
        const { scrapes, bytes } = await s.stop();
        idle = { cpu: idleCpu, seconds: (performance.now() - t0) / 1000, scrapes, bytes };
      }
      const sc = scraper(url);
      const c0 = cpuSeconds(pid);
      const p0 = programRunNs(programs);
      const wall = await load(port);
      loadCpu.push((cpuSeconds(pid) - c0) / wall);
      loadProgNs.push((programRunNs(programs) - p0) / wall);
      withExporter.push(wall);
      await sc.stop();
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  }
  server.close();
  const ratios = withExporter.map((w, i) => w / baseline[i]);

  const pct = (x: number) => `${(x * 100).toFixed(2)} %`;
  console.log(`exporter (all tools: syscount per syscall and per comm, count-only, runqlat, biolatency, tcplife, execsnoop), scraped every 1 s; ${ROUNDS} rounds, medians`);
  console.log(`load: ${SYSCALLS * 2} syscalls (dd bs=1), ${EXECS} execs, ${CONNECTIONS} TCP connections to loopback`);
  console.log('');
  console.log('| measure | value |');
  console.log('|---|---|');
  console.log(`| exporter CPU, idle (${idle.seconds.toFixed(0)} s, ${idle.scrapes} scrapes of ${(idle.bytes / 1024).toFixed(0)} KiB) | ${pct(idle.cpu / idle.seconds)} of one CPU (${((idle.cpu / Math.max(idle.scrapes, 1)) * 1000).toFixed(1)} ms per scrape) |`);
  console.log(`| exporter CPU (user space), under load | ${pct(median(loadCpu))} of one CPU |`);
  console.log(`| its eBPF programs (kernel, BPF stats), under load | ${pct(median(loadProgNs) / 1e9)} of one CPU |`);
  console.log(`| load wall time without exporter (baseline) | ${median(baseline).toFixed(2)} s |`);
  console.log(`| load wall time with exporter | ${median(withExporter).toFixed(2)} s |`);
  console.log(`| with / without, per round (median) | ${ratios.map((r) => r.toFixed(2)).join(', ')} (x${median(ratios).toFixed(2)}) |`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

#!/usr/bin/env node
// `aya-node <tool>`: ready-made tracing tools on the bundled eBPF programs.

import { parseArgs } from 'node:util';
import { EbpfError } from './errors';
import { Execsnoop, type Exec } from './tools/execsnoop';
import { Opensnoop, type Open } from './tools/opensnoop';
import { Tcplife, type TcpLife } from './tools/tcplife';
import type { RingTool } from './tools/tool';
import { Syscount, type SyscallCount } from './tools/syscount';
import { Biolatency, Runqlat } from './tools/latency';
import { openStackTool } from './tools/stack-cli';
import { PyCalls } from './tools/pycalls';
import { renderHistogram, type Histogram } from './tools/histogram';

interface Options {
  pid?: number;
  comm?: string;
  duration?: number;
  interval?: number;
  frequency?: number;
  byProcess: boolean;
  json: boolean;
  svg?: string;
  speedscope?: string;
  offCpu: boolean;
}

/** A tool that reports what it gathered every interval (and at the end). */
interface PeriodicTool {
  summary: string;
  open(options: Options): Disposable & { report(json: boolean): string };
}

const histogramReport = (hist: () => Histogram) => (json: boolean) => (json ? `${JSON.stringify(hist())}\n` : renderHistogram(hist()));

const periodic: Record<string, PeriodicTool> = {
  syscount: {
    summary: 'syscall counts and latency per syscall (or per process with --by-process)',
    open: (o) => {
      const sc = Syscount.open({ pid: o.pid, byProcess: o.byProcess });
      const line = (c: SyscallCount) => `${c.name.padEnd(22)}${String(c.count).padStart(10)}${(c.totalNs / 1000).toFixed(1).padStart(14)}`;
      return Object.assign(sc, {
        report: (json: boolean) => {
          const counts = sc.snapshot();
          if (json) return counts.map((c) => `${JSON.stringify(c)}\n`).join('');
          return `${(o.byProcess ? 'PROCESS' : 'SYSCALL').padEnd(22)}${'COUNT'.padStart(10)}${'TOTAL_us'.padStart(14)}\n${counts.slice(0, 20).map(line).join('\n')}\n`;
        },
      });
    },
  },
  biolatency: {
    summary: 'block I/O latency histogram',
    open: () => {
      const tool = Biolatency.open();
      return Object.assign(tool, { report: histogramReport(() => tool.histogram({ reset: true })) });
    },
  },
  runqlat: {
    summary: 'scheduler run-queue latency histogram',
    open: (o) => {
      const tool = Runqlat.open({ pid: o.pid });
      return Object.assign(tool, { report: histogramReport(() => tool.histogram({ reset: true })) });
    },
  },
  profile: {
    summary: 'on-CPU stack samples (JavaScript frames from perf maps) as folded stacks, --svg, --speedscope',
    open: (o) => openStackTool(o, o.offCpu),
  },
  offcpu: {
    summary: 'time blocked off-CPU by stack (same outputs as profile)',
    open: (o) => openStackTool(o, true),
  },
  pycalls: {
    summary: 'Python function calls by name of one process (--pid), through CPython\'s USDT probes',
    open: (o) => {
      if (o.pid === undefined) throw new EbpfError('INVALID_ARGUMENT', 'pycalls needs --pid PID of a Python process');
      const tool = PyCalls.open({ pid: o.pid });
      return Object.assign(tool, {
        report: (json: boolean) => {
          const counts = tool.counts({ reset: true });
          if (json) return counts.map((c) => `${JSON.stringify(c)}\n`).join('');
          return `${'FUNCTION'.padEnd(40)}${'CALLS'.padStart(10)}\n${counts.slice(0, 30).map((c) => `${c.name.padEnd(40)}${String(c.count).padStart(10)}`).join('\n')}\n`;
        },
      });
    },
  },
};

interface Tool<Out> {
  summary: string;
  open(options: Options): RingTool<any, Out>;
  header: string;
  line(event: Out): string;
}

const col = (value: string | number, width: number) => String(value).padEnd(width);

const tools: Record<string, Tool<any>> = {
  execsnoop: {
    summary: 'process executions: pid, ppid, uid, return code, argv',
    open: (o) => Execsnoop.open({ pid: o.pid, comm: o.comm }),
    header: `${col('PID', 8)}${col('PPID', 8)}${col('UID', 6)}${col('COMM', 17)}${col('RET', 5)}ARGS`,
    line: (e: Exec) =>
      `${col(e.pid, 8)}${col(e.ppid, 8)}${col(e.uid, 6)}${col(e.comm, 17)}${col(e.retval, 5)}${[e.filename, ...e.argv.slice(1)].join(' ')}${e.argvTruncated ? ' ...' : ''}`,
  } satisfies Tool<Exec>,
  opensnoop: {
    summary: 'file opens: pid, comm, fd or error, flags, path',
    open: (o) => Opensnoop.open({ pid: o.pid, comm: o.comm }),
    header: `${col('PID', 8)}${col('COMM', 17)}${col('FD', 5)}${col('ERR', 5)}${col('FLAGS', 9)}PATH`,
    line: (e: Open) =>
      `${col(e.pid, 8)}${col(e.comm, 17)}${col(e.retval >= 0 ? e.retval : -1, 5)}${col(e.retval < 0 ? -e.retval : 0, 5)}${col(`0${e.flags.toString(8)}`, 9)}${e.path}`,
  } satisfies Tool<Open>,
  tcplife: {
    summary: 'TCP connections when they close: addresses, ports, duration, bytes',
    open: (o) => Tcplife.open({ pid: o.pid, comm: o.comm }),
    header: `${col('PID', 8)}${col('COMM', 17)}${col('LADDR', 24)}${col('RADDR', 24)}${col('RX_B', 10)}${col('TX_B', 10)}MS`,
    line: (c: TcpLife) =>
      `${col(c.pid, 8)}${col(c.comm, 17)}${col(`${c.localAddress}:${c.localPort}`, 24)}${col(`${c.remoteAddress}:${c.remotePort}`, 24)}${col(String(c.rxBytes), 10)}${col(String(c.txBytes), 10)}${c.durationMs.toFixed(2)}`,
  } satisfies Tool<TcpLife>,
};

const usage = `usage: aya-node <tool> [options]

tools:
${[...Object.entries(tools), ...Object.entries(periodic)].map(([name, t]) => `  ${name.padEnd(12)} ${t.summary}`).join('\n')}

  exporter     Prometheus metrics of the tools on :9435/metrics (aya-node exporter --help)

options:
  --pid PID         only this process
  --comm NAME       only processes with this command name (execsnoop, opensnoop, tcplife)
  --duration SECS   stop after this many seconds (default: until Ctrl-C)
  --interval SECS   syscount, biolatency, runqlat, profile, offcpu, pycalls: report every SECS (default: at the end)
  --frequency HZ    profile: samples per second per CPU (default 49)
  --by-process      syscount: count per process instead of per syscall
  --svg FILE        profile, offcpu: also write an interactive SVG flame graph
  --speedscope FILE profile, offcpu: also write speedscope JSON (https://www.speedscope.app)
  --off-cpu         profile: time blocked off-CPU instead of on-CPU samples (same as offcpu)
  --json            one JSON object per line
  --help            this text

Needs root, or CAP_BPF and CAP_PERFMON.

examples:
  sudo npx aya-node execsnoop
  sudo npx aya-node opensnoop --comm node --json
  sudo npx aya-node execsnoop --duration 10 --json > execs.jsonl
  sudo npx aya-node biolatency --interval 5
  sudo npx aya-node profile --duration 10 > out.folded && flamegraph.pl out.folded > cpu.svg
  sudo npx aya-node profile --pid $(pgrep -f my-service) --duration 10 --svg flame.svg
  sudo npx aya-node pycalls --pid $(pgrep -f my-script.py) --interval 5
`;

function parse(args: string[]): Options {
  const { values } = parseArgs({
    args,
    options: {
      pid: { type: 'string' },
      comm: { type: 'string' },
      duration: { type: 'string' },
      interval: { type: 'string' },
      frequency: { type: 'string' },
      'by-process': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      svg: { type: 'string' },
      speedscope: { type: 'string' },
      'off-cpu': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const number = (name: string, value: string | undefined) => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new EbpfError('INVALID_ARGUMENT', `--${name} takes a non-negative number, got "${value}"`);
    return n;
  };
  return {
    pid: number('pid', values.pid),
    comm: values.comm,
    duration: number('duration', values.duration),
    interval: number('interval', values.interval),
    frequency: number('frequency', values.frequency),
    byProcess: values['by-process'] ?? false,
    json: values.json ?? false,
    svg: values.svg,
    speedscope: values.speedscope,
    offCpu: values['off-cpu'] ?? false,
  };
}

/** Printed on stderr once the programs are attached (scripts can wait for it). */
const TRACING = 'Tracing... Hit Ctrl-C to end.\n';

/** Aborts on Ctrl-C, SIGTERM or after --duration. */
function stopSignal(options: Options): { signal: AbortSignal; done: () => void } {
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  process.once('SIGTERM', () => controller.abort());
  const timer = options.duration === undefined ? undefined : setTimeout(() => controller.abort(), options.duration * 1000);
  return { signal: controller.signal, done: () => clearTimeout(timer) };
}

async function runPeriodic(tool: PeriodicTool, options: Options): Promise<void> {
  using running = tool.open(options);
  // --duration counts from when the tool is attached (loading can take seconds on a busy machine).
  const { signal, done } = stopSignal(options);
  process.stderr.write(TRACING);
  const stopped = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  const every = options.interval === undefined ? undefined : setInterval(() => process.stdout.write(running.report(options.json)), options.interval * 1000);
  await stopped;
  clearInterval(every);
  done();
  process.stdout.write(running.report(options.json));
}

async function runTool(tool: Tool<unknown>, options: Options): Promise<void> {
  using running = tool.open(options);
  // --duration counts from when the tool is attached (loading can take seconds on a busy machine).
  const { signal, done } = stopSignal(options);
  process.stderr.write(TRACING);
  if (!options.json) console.log(tool.header);
  try {
    for await (const event of running.stream({ signal })) {
      console.log(options.json ? JSON.stringify(event, (_k, v) => (typeof v === 'bigint' ? Number(v) : v)) : tool.line(event));
    }
  } catch (err) {
    if (!signal.aborted) throw err;
  } finally {
    done();
  }
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === '-h') {
    process.stdout.write(usage);
    return name ? 0 : 1;
  }
  // The metrics exporter lives in its own module (loaded only for this subcommand).
  if (name === 'exporter') return (require('./metrics/exporter') as typeof import('./metrics/exporter')).exporterMain(args);
  const tool = tools[name];
  const periodicTool = periodic[name];
  if (!tool && !periodicTool) {
    process.stderr.write(`aya-node: unknown tool \`${name}\`\n\n${usage}`);
    return 1;
  }
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(usage);
    return 0;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('aya-node: warning: not running as root; loading eBPF needs CAP_BPF and CAP_PERFMON\n');
  }
  if (tool) await runTool(tool, parse(args));
  else await runPeriodic(periodicTool, parse(args));
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof EbpfError) {
      process.stderr.write(`aya-node: ${err.message}\n`);
      if (err.code === 'PERMISSION') process.stderr.write('hint: run as root, or grant CAP_BPF and CAP_PERFMON\n');
    } else {
      process.stderr.write(`aya-node: ${err instanceof Error ? err.message : String(err)}\n`);
    }
    process.exit(1);
  },
);

#!/usr/bin/env node
// `aya-node <tool>`: ready-made tracing tools on the bundled eBPF programs.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { EbpfError } from './errors';
import { Execsnoop, type Exec } from './tools/execsnoop';
import { Opensnoop, type Open } from './tools/opensnoop';
import { Tcplife, type TcpLife } from './tools/tcplife';
import { commOption, ringSizeOption, type RingTool } from './tools/tool';
import { Syscount, type SyscallCount } from './tools/syscount';
import { Biolatency, Runqlat } from './tools/latency';
import { openStackTool } from './tools/stack-cli';
import { PyCalls } from './tools/pycalls';
import { renderHistogram, type Histogram } from './tools/histogram';
import { projectCommands, projectUsage } from './cli/project';

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
  ringSize?: number;
}

/** A tool that reports what it gathered every interval (and at the end). */
interface PeriodicTool {
  summary: string;
  /** The options this tool takes, besides --duration, --json and --help. */
  options: string[];
  open(options: Options): Disposable & { report(json: boolean): string };
}

const histogramReport = (hist: () => Histogram) => (json: boolean) => (json ? `${JSON.stringify(hist())}\n` : renderHistogram(hist()));

const periodic: Record<string, PeriodicTool> = {
  syscount: {
    summary: 'syscall counts and latency per syscall (or per process with --by-process)',
    options: ['pid', 'interval', 'by-process'],
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
    options: ['interval'],
    open: () => {
      const tool = Biolatency.open();
      return Object.assign(tool, { report: histogramReport(() => tool.histogram({ reset: true })) });
    },
  },
  runqlat: {
    summary: 'scheduler run-queue latency histogram',
    options: ['pid', 'interval'],
    open: (o) => {
      const tool = Runqlat.open({ pid: o.pid });
      return Object.assign(tool, { report: histogramReport(() => tool.histogram({ reset: true })) });
    },
  },
  profile: {
    summary: 'on-CPU stack samples (JavaScript frames from perf maps) as folded stacks, --svg, --speedscope',
    options: ['pid', 'interval', 'frequency', 'svg', 'speedscope', 'off-cpu'],
    open: (o) => openStackTool(o, o.offCpu),
  },
  offcpu: {
    summary: 'time blocked off-CPU by stack (same outputs as profile)',
    options: ['pid', 'interval', 'svg', 'speedscope'],
    open: (o) => openStackTool(o, true),
  },
  pycalls: {
    summary: "Python function calls by name of one process (--pid), through CPython's USDT probes",
    options: ['pid', 'interval'],
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
  options: string[];
  open(options: Options): RingTool<any, Out>;
  header: string;
  line(event: Out): string;
}

const col = (value: string | number, width: number) => String(value).padEnd(width);

const tools: Record<string, Tool<any>> = {
  execsnoop: {
    summary: 'process executions: pid, ppid, uid, return code, argv',
    options: ['pid', 'comm', 'ring-size'],
    open: (o) => Execsnoop.open({ pid: o.pid, comm: o.comm, ringSize: o.ringSize }),
    header: `${col('PID', 8)}${col('PPID', 8)}${col('UID', 6)}${col('COMM', 17)}${col('RET', 5)}ARGS`,
    line: (e: Exec) =>
      `${col(e.pid, 8)}${col(e.ppid, 8)}${col(e.uid, 6)}${col(e.comm, 17)}${col(e.retval, 5)}${[e.filename, ...e.argv.slice(1)].join(' ')}${e.argvTruncated ? ' ...' : ''}`,
  } satisfies Tool<Exec>,
  opensnoop: {
    summary: 'file opens: pid, comm, fd or error, flags, path',
    options: ['pid', 'comm', 'ring-size'],
    open: (o) => Opensnoop.open({ pid: o.pid, comm: o.comm, ringSize: o.ringSize }),
    header: `${col('PID', 8)}${col('COMM', 17)}${col('FD', 5)}${col('ERR', 5)}${col('FLAGS', 9)}PATH`,
    line: (e: Open) =>
      `${col(e.pid, 8)}${col(e.comm, 17)}${col(e.retval >= 0 ? e.retval : -1, 5)}${col(e.retval < 0 ? -e.retval : 0, 5)}${col(`0${e.flags.toString(8)}`, 9)}${e.path}`,
  } satisfies Tool<Open>,
  tcplife: {
    summary: 'TCP connections when they close: addresses, ports, duration, bytes',
    options: ['pid', 'comm', 'ring-size'],
    open: (o) => Tcplife.open({ pid: o.pid, comm: o.comm, ringSize: o.ringSize }),
    header: `${col('PID', 8)}${col('COMM', 17)}${col('LADDR', 24)}${col('RADDR', 24)}${col('RX_B', 10)}${col('TX_B', 10)}MS`,
    line: (c: TcpLife) =>
      `${col(c.pid, 8)}${col(c.comm, 17)}${col(`${c.localAddress}:${c.localPort}`, 24)}${col(`${c.remoteAddress}:${c.remotePort}`, 24)}${col(String(c.rxBytes), 10)}${col(String(c.txBytes), 10)}${c.durationMs.toFixed(2)}`,
  } satisfies Tool<TcpLife>,
};

/** Each option's line in the help text. */
const optionHelp: Record<string, string> = {
  pid: '--pid PID         only this process',
  comm: '--comm NAME       only processes with this command name',
  duration: '--duration SECS   stop after this many seconds (default: until Ctrl-C)',
  interval: '--interval SECS   report every SECS (default: once, at the end)',
  frequency: '--frequency HZ    samples per second per CPU (default 49)',
  'by-process': '--by-process      count per process instead of per syscall',
  svg: '--svg FILE        also write an interactive SVG flame graph',
  speedscope: '--speedscope FILE also write speedscope JSON (https://www.speedscope.app)',
  'off-cpu': '--off-cpu         time blocked off-CPU instead of on-CPU samples (same as offcpu)',
  'ring-size': '--ring-size BYTES ring buffer size (power of two, page multiple; K/M/G suffixes)',
  json: '--json            one JSON object per line',
  help: '--help            this text',
};

const PRIVILEGES = `Needs root, or CAP_BPF and CAP_PERFMON (pycalls also CAP_SYS_ADMIN; kernel frame
names of profile/offcpu CAP_SYSLOG): see "Running without root" in the README.`;

const usage = `usage: aya-node <tool> [options]

tools:
${[...Object.entries(tools), ...Object.entries(periodic)].map(([name, t]) => `  ${name.padEnd(12)} ${t.summary}`).join('\n')}

  exporter     Prometheus metrics of the tools on :9435/metrics (aya-node exporter --help)

options (\`aya-node <tool> --help\` lists a tool's own):
${Object.values(optionHelp).map((line) => `  ${line}`).join('\n')}

${PRIVILEGES}

${projectUsage}
examples:
  sudo npx aya-node execsnoop
  sudo npx aya-node opensnoop --comm node --json
  sudo npx aya-node execsnoop --duration 10 --json > execs.jsonl
  sudo npx aya-node biolatency --interval 5
  sudo npx aya-node profile --duration 10 > out.folded && flamegraph.pl out.folded > cpu.svg
  sudo npx aya-node profile --pid $(pgrep -f my-service) --duration 10 --svg flame.svg
  sudo npx aya-node pycalls --pid $(pgrep -f my-script.py) --interval 5
`;

function toolUsage(name: string, tool: { summary: string; options: string[] }): string {
  const options = [...tool.options, 'duration', 'json', 'help'];
  return `usage: aya-node ${name} [options]

${tool.summary}

options:
${options.map((o) => `  ${optionHelp[o]}`).join('\n')}

${PRIVILEGES}
`;
}

/** Longest delay a Node.js timer takes (longer ones fire after 1 ms). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Parses a tool's arguments; only the options it takes are accepted. */
function parse(args: string[], accepted: string[] = Object.keys(optionHelp)): Options {
  const all = {
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
    'ring-size': { type: 'string' },
  } as const;
  const options = Object.fromEntries(Object.entries(all).filter(([name]) => accepted.includes(name) || name === 'duration' || name === 'json'));
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args, options, strict: true }).values as Record<string, string | boolean | undefined>;
  } catch (err) {
    throw new EbpfError('INVALID_ARGUMENT', (err as Error).message);
  }
  const number = (name: string, { integer = false, positive = false, max = Number.MAX_SAFE_INTEGER } = {}) => {
    const value = values[name] as string | undefined;
    if (value === undefined) return undefined;
    const n = value.trim() === '' ? NaN : Number(value);
    const ok = Number.isFinite(n) && (positive ? n > 0 : n >= 0) && (!integer || Number.isInteger(n)) && n <= max;
    if (!ok) {
      const kind = `${positive ? 'a positive' : 'a non-negative'} ${integer ? 'integer' : 'number'}`;
      throw new EbpfError('INVALID_ARGUMENT', `--${name} takes ${kind}${max < Number.MAX_SAFE_INTEGER ? ` up to ${max}` : ''}, got "${value}"`);
    }
    return n;
  };
  return {
    pid: number('pid', { integer: true, positive: true, max: 2 ** 32 - 1 }),
    comm: commArgument(values.comm as string | undefined),
    duration: number('duration', { positive: true }),
    // Under 10 ms the reports would be all there is to see.
    interval: values.interval === undefined ? undefined : Math.max(number('interval', { positive: true })!, 0.01),
    frequency: number('frequency', { integer: true, positive: true, max: 1_000_000 }),
    byProcess: (values['by-process'] as boolean | undefined) ?? false,
    json: (values.json as boolean | undefined) ?? false,
    svg: values.svg as string | undefined,
    speedscope: values.speedscope as string | undefined,
    offCpu: (values['off-cpu'] as boolean | undefined) ?? false,
    ringSize: ringSizeArgument(values['ring-size'] as string | undefined),
  };
}

/** `--comm`: checked as the API's `comm` (1 to 15 bytes), reported as a usage error. */
function commArgument(value: string | undefined): string | undefined {
  try {
    return commOption(value, '--comm');
  } catch (err) {
    throw new EbpfError('INVALID_ARGUMENT', (err as Error).message);
  }
}

const SUFFIX: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** `--ring-size`: bytes, or with a K/M/G (binary) suffix, checked as the API's `ringSize`. */
function ringSizeArgument(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^\s*(\d+)\s*([kmg]?)(?:i?b)?\s*$/i.exec(value);
  if (!m) throw new EbpfError('INVALID_ARGUMENT', `--ring-size takes bytes (e.g. 4194304 or 4M), got "${value}"`);
  try {
    return ringSizeOption(Number(m[1]) * SUFFIX[m[2].toLowerCase()]);
  } catch (err) {
    throw new EbpfError('INVALID_ARGUMENT', (err as Error).message.replace('options.ringSize', '--ring-size'));
  }
}

const CAP_SYS_ADMIN = 21n;
const CAP_PERFMON = 38n;
const CAP_BPF = 39n;

/**
 * Whether the process may load and attach the tools' programs: by its effective capabilities
 * (CapEff of /proc/self/status), not by its uid, so a non-root user with ambient CAP_BPF and
 * CAP_PERFMON gets no warning. Without /proc, being root is taken as enough.
 */
function hasTracingCapabilities(): boolean {
  let status: string;
  try {
    status = readFileSync('/proc/self/status', 'utf8');
  } catch {
    return process.getuid?.() === 0;
  }
  const m = /^CapEff:\s*([0-9a-f]+)$/im.exec(status);
  if (!m) return process.getuid?.() === 0;
  const eff = BigInt(`0x${m[1]}`);
  const has = (cap: bigint) => (eff & (1n << cap)) !== 0n;
  return has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON));
}

/** Printed on stderr once the programs are attached (scripts can wait for it). */
const TRACING = 'Tracing... Hit Ctrl-C to end.\n';

/** Calls `fn` after `ms`, for any `ms` (timers longer than 24.8 days are chained). */
function after(ms: number, fn: () => void): () => void {
  let timer: NodeJS.Timeout;
  const arm = (left: number) => {
    timer = setTimeout(() => (left > MAX_TIMER_MS ? arm(left - MAX_TIMER_MS) : fn()), Math.min(left, MAX_TIMER_MS));
  };
  arm(ms);
  return () => clearTimeout(timer);
}

/**
 * Aborts on Ctrl-C, SIGTERM, after --duration, or when stdout's reader has gone (`| head`).
 * Until then a timer keeps the event loop alive: signal handlers alone do not.
 */
interface Stop {
  signal: AbortSignal;
  stop: () => void;
  /** Starts the --duration timer: from when the tool is attached (loading can take seconds). */
  attached: () => void;
  done: () => void;
}

function stopSignal(options: Options): Stop {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let cancel: (() => void) | undefined;
  const keepAlive = setInterval(() => {}, MAX_TIMER_MS);
  controller.signal.addEventListener('abort', () => clearInterval(keepAlive), { once: true });
  return {
    signal: controller.signal,
    stop,
    attached: () => {
      if (options.duration !== undefined) cancel = after(options.duration * 1000, stop);
    },
    done: () => (cancel?.(), clearInterval(keepAlive)),
  };
}

/** Whether stdout's reader went away (EPIPE): then there is nobody to report to. */
let stdoutClosed = false;

function write(text: string): void {
  if (!stdoutClosed) process.stdout.write(text);
}

async function runPeriodic(tool: PeriodicTool, options: Options, { signal, attached }: Stop): Promise<void> {
  const running = tool.open(options);
  attached();
  try {
    process.stderr.write(TRACING);
    const stopped = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    const every = options.interval === undefined ? undefined : setInterval(() => write(running.report(options.json)), options.interval * 1000);
    await stopped;
    clearInterval(every);
    write(running.report(options.json));
  } finally {
    running[Symbol.dispose]();
  }
}

async function runTool(tool: Tool<unknown>, options: Options, { signal, attached }: Stop): Promise<void> {
  const running = tool.open(options);
  attached();
  let events = 0;
  try {
    process.stderr.write(TRACING);
    if (!options.json) write(`${tool.header}\n`);
    for await (const event of running.stream({ signal })) {
      events++;
      write(`${options.json ? JSON.stringify(event, (_k, v) => (typeof v === 'bigint' ? Number(v) : v)) : tool.line(event)}\n`);
    }
  } catch (err) {
    if (!signal.aborted) throw err;
  } finally {
    let drops: bigint | undefined;
    try {
      drops = running.drops();
    } finally {
      running.close();
    }
    reportDrops(options, events, drops, running.ringSize);
  }
}

/**
 * On exit, what the ring lost, on stderr (stdout stays the events alone, so `--json` output is
 * still one event per line): with --json one line `{"summary":{"events":N,"drops":N,"ringSize":N}}`,
 * else a sentence.
 */
function reportDrops(options: Options, events: number, drops: bigint | undefined, ringSize: number): void {
  if (drops === undefined) return;
  if (options.json) {
    process.stderr.write(`${JSON.stringify({ summary: { events, drops: Number(drops), ringSize } })}\n`);
    return;
  }
  const hint = drops > 0n ? ': the ring was full, a larger --ring-size keeps more' : '';
  process.stderr.write(`${events} events, ${drops} dropped (ring buffer of ${ringSize} bytes)${hint}\n`);
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === '-h') {
    process.stdout.write(usage);
    return name ? 0 : 1;
  }
  // The metrics exporter lives in its own module (loaded only for this subcommand).
  if (name === 'exporter') return (require('./metrics/exporter') as typeof import('./metrics/exporter')).exporterMain(args);
  const project = Object.hasOwn(projectCommands, name) ? projectCommands[name] : undefined;
  if (project) return project(args);
  const tool = Object.hasOwn(tools, name) ? tools[name] : undefined;
  const periodicTool = Object.hasOwn(periodic, name) ? periodic[name] : undefined;
  if (!tool && !periodicTool) {
    process.stderr.write(`aya-node: unknown tool \`${name}\`\n\n${usage}`);
    return 1;
  }
  const described = (tool ?? periodicTool)!;
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(toolUsage(name, described));
    return 0;
  }
  const options = parse(args, described.options);
  if (!hasTracingCapabilities()) {
    process.stderr.write('aya-node: warning: missing CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN); loading eBPF needs them\n');
  }
  const stopper = stopSignal(options);
  const { stop, done } = stopper;
  // `| head` closes the pipe: stop quietly, as other command-line tools do.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    stdoutClosed = true;
    stop();
  });
  try {
    if (tool) await runTool(tool, options, stopper);
    else await runPeriodic(periodicTool!, options, stopper);
  } finally {
    done();
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof EbpfError) {
      process.stderr.write(`aya-node: ${err.message}\n`);
      if (err.code === 'PERMISSION') process.stderr.write(`hint: ${PRIVILEGES.replace(/\n/g, ' ')}\n`);
    } else {
      process.stderr.write(`aya-node: ${err instanceof Error ? err.message : String(err)}\n`);
    }
    process.exit(1);
  },
);

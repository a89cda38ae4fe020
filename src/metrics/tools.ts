// The bundled tools as metrics: syscount (per syscall and per process), runqlat, biolatency,
// tcplife, execsnoop, and the drop counter of every event stream.

import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { Syscount } from '../tools/syscount';
import { Biolatency, Runqlat } from '../tools/latency';
import { HISTOGRAM_BUCKETS } from '../tools/histogram';
import { Tcplife, type TcpLife } from '../tools/tcplife';
import { Execsnoop, type Exec } from '../tools/execsnoop';
import type { RingTool } from '../tools/tool';
import { EventCounter, EventHistogram } from './events';
import { counter, histogram, log2Bounds, type Metric, type Observation } from './metric';

/** Tools the exporter can run (`--tools`). */
export const TOOL_NAMES = ['syscount', 'runqlat', 'biolatency', 'tcplife', 'execsnoop'] as const;
export type ToolName = (typeof TOOL_NAMES)[number];

/** Running tools and their metrics; `close()` detaches everything. */
export interface ToolMetrics extends Disposable {
  readonly metrics: Metric[];
  close(): void;
}

/** `fn()`'s result, reused for `ms` (several metrics read the same map in one scrape). */
function memo<T>(fn: () => T, ms = 200): () => T {
  let at = -Infinity;
  let value: T;
  return () => {
    const now = performance.now();
    if (now - at > ms) {
      value = fn();
      at = now;
    }
    return value;
  };
}

/**
 * Syscall counts and time from a `Syscount`: `aya_syscalls_total{syscall}` and
 * `aya_syscall_seconds_total{syscall}` (not for a `countOnly` one); with `alsoByComm`,
 * `aya_process_syscalls_total{comm}` and `aya_process_syscall_seconds_total{comm}` too (the
 * comm as the kernel saw it at each syscall). A `byProcess` Syscount gives the per-process pair from process ids, named from
 * /proc when read (an exited process keeps the last name seen, or `[exited]`); exited processes
 * are then removed from its kernel map, so it keeps room for new ones.
 */
export function syscountMetrics(sc: Syscount): Metric[] {
  if (!(sc instanceof Syscount)) throw new TypeError('sc must be a Syscount');
  const metrics: Metric[] = [];
  if (sc.byProcess) {
    const read = memo(() => {
      const counts = sc.counts();
      for (const c of counts) if (!existsSync(`/proc/${c.key}`)) sc.forget(c.key);
      return counts.map((c) => ({ id: String(c.key), label: c.name === `pid ${c.key}` ? '[exited]' : c.name, count: c.count, totalNs: c.totalNs }));
    });
    metrics.push(...countMetrics('aya_process_', 'comm', read, !sc.countOnly));
  } else {
    metrics.push(...countMetrics('aya_', 'syscall', memo(() => sc.counts().map((c) => ({ id: String(c.key), label: c.name, count: c.count, totalNs: c.totalNs }))), !sc.countOnly));
  }
  if (sc.alsoByComm) {
    metrics.push(...countMetrics('aya_process_', 'comm', memo(() => sc.commCounts().map((c) => ({ id: c.comm, label: c.comm || '[unnamed]', count: c.count, totalNs: c.totalNs }))), !sc.countOnly));
  }
  return metrics;
}

/** One counted entry: its id (kept across reads), its label value, count and time. */
interface CountRow {
  id: string;
  label: string;
  count: number;
  totalNs: number;
}

function countMetrics(prefix: string, label: 'syscall' | 'comm', read: () => CountRow[], timed: boolean): Metric[] {
  const what = label === 'comm' ? 'per process name' : 'per syscall';
  const metrics: Metric[] = [
    counter({
      name: `${prefix}syscalls_total`,
      help: `System calls ${what}`,
      labelNames: [label],
      observe: () => read().map((c) => ({ id: c.id, labels: { [label]: c.label }, value: c.count })),
    }),
    counter({
      name: `${prefix}syscall_seconds_total`,
      help: `Time spent in system calls ${what}, in seconds`,
      labelNames: [label],
      observe: () => read().map((c) => ({ id: c.id, labels: { [label]: c.label }, value: c.totalNs / 1e9 })),
    }),
  ];
  // A count-only Syscount has no time to report.
  return timed ? metrics : metrics.slice(0, 1);
}

/** A latency tool's histogram in seconds: every log2 bucket bound from 2 µs, `_sum`, `_count`. */
export function latencyMetric(tool: Runqlat | Biolatency, name: string, help: string): Metric {
  if (!(tool instanceof Runqlat) && !(tool instanceof Biolatency)) throw new TypeError('tool must be a Runqlat or Biolatency');
  const read = memo(() => tool.totals());
  return histogram({
    name,
    help,
    // Bucket i holds whole microseconds below 2^(i+1), so that bound (in seconds) is its `le`;
    // the last bucket also takes everything larger (+Inf).
    bounds: log2Bounds(HISTOGRAM_BUCKETS - 1, 1e-6),
    observe: () => read().counts.map((count, bucket): Observation & { bucket: number } => ({ id: String(bucket), labels: {}, bucket, value: count })),
    observeSum: () => [{ labels: {}, value: read().sumNs / 1e9 }],
  });
}

/** Connection duration buckets of tcplife, in seconds. */
export const TCP_DURATION_BOUNDS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600];

/** Consumes a ring tool's events in the background until it is closed. */
function consume<T>(tool: RingTool<unknown, T>, onEvent: (event: T) => void, onError: (err: unknown) => void): void {
  void (async () => {
    try {
      for await (const event of tool) onEvent(event);
    } catch (err) {
      if (!tool.object.closed) onError(err);
    }
  })();
}

/** tcplife's events as counters of connections and bytes, and a duration histogram, per comm. */
export function tcplifeMetrics(tool: Tcplife, onError: (err: unknown) => void = defaultOnError): Metric[] {
  const connections = new EventCounter({ name: 'aya_tcp_connections_total', help: 'TCP connections closed, by the comm that opened them', labelNames: ['comm'] });
  const rx = new EventCounter({ name: 'aya_tcp_received_bytes_total', help: 'Bytes received on closed TCP connections', labelNames: ['comm'] });
  const tx = new EventCounter({ name: 'aya_tcp_sent_bytes_total', help: 'Bytes sent (acknowledged) on closed TCP connections', labelNames: ['comm'] });
  const duration = new EventHistogram({ name: 'aya_tcp_connection_duration_seconds', help: 'Lifetime of closed TCP connections, in seconds, by the comm that opened them', labelNames: ['comm'], bounds: TCP_DURATION_BOUNDS });
  consume(tool, (c: TcpLife) => {
    const labels = { comm: c.comm || '[unknown]' };
    connections.inc(labels);
    rx.inc(labels, c.rxBytes);
    tx.inc(labels, c.txBytes);
    duration.observe(labels, c.durationMs / 1000);
  }, onError);
  return [connections, rx, tx, duration];
}

/** The comm a process has after exec: the file's base name, cut to the kernel's 15 bytes. */
function execComm(filename: string): string {
  const name = Buffer.from(basename(filename));
  return name.subarray(0, 15).toString('utf8').replace(/\uFFFD+$/, '');
}

/** execsnoop's events as `aya_execs_total{comm,result}` (comm: the name the new program runs as). */
export function execsnoopMetrics(tool: Execsnoop, onError: (err: unknown) => void = defaultOnError): Metric[] {
  const execs = new EventCounter({ name: 'aya_execs_total', help: 'Program executions (execve), by the new comm and result', labelNames: ['comm', 'result'] });
  consume(tool, (e: Exec) => execs.inc({ comm: execComm(e.filename), result: e.retval === 0 ? 'ok' : 'failed' }), onError);
  return [execs];
}

/** Any stream that counts what it lost: a ring tool or RingBuf (`drops()`), or a perf stream (`lost`). */
export type DropCounting = { drops(): bigint } | { lost: number };

/** `aya_stream_dropped_events_total{stream}`: events lost because a stream was full, per stream. */
export function droppedEventsMetric(streams: Record<string, DropCounting>): Metric {
  if (typeof streams !== 'object' || streams === null) throw new TypeError('streams must be an object of name -> stream');
  return counter({
    name: 'aya_stream_dropped_events_total',
    help: 'Events lost because the stream (ring or perf buffer) was full',
    labelNames: ['stream'],
    observe: () => Object.entries(streams).map(([stream, s]) => ({ labels: { stream }, value: 'drops' in s ? s.drops() : s.lost })),
  });
}

function defaultOnError(err: unknown): void {
  process.emitWarning(`aya-node metrics: an event stream failed: ${err instanceof Error ? err.message : String(err)}`);
}

/**
 * Opens the given tools and returns their metrics (plus the drop counter of every stream they
 * read). All or nothing: if one fails to open, the ones already open are closed.
 */
export interface ToolMetricsOptions {
  /** syscount: time every syscall too (`*_syscall_seconds_total`), at about twice the cost per syscall. */
  syscallTime?: boolean;
  /** Called when a tool's event stream fails (default: a process warning). */
  onError?: (err: unknown) => void;
}

export function openToolMetrics(tools: readonly ToolName[] = TOOL_NAMES, options: ToolMetricsOptions = {}): ToolMetrics {
  const { syscallTime = false, onError } = options;
  if (!Array.isArray(tools)) throw new TypeError('tools must be an array of tool names');
  for (const t of tools) if (!TOOL_NAMES.includes(t)) throw new RangeError(`unknown tool ${String(t)} (known: ${TOOL_NAMES.join(', ')})`);
  const open: Disposable[] = [];
  const metrics: Metric[] = [];
  const streams: Record<string, DropCounting> = {};
  const close = () => {
    for (const o of open.reverse()) o[Symbol.dispose]();
    open.length = 0;
  };
  const keep = <T extends Disposable>(tool: T): T => (open.push(tool), tool);
  try {
    for (const name of new Set(tools)) {
      switch (name) {
        case 'syscount':
          metrics.push(...syscountMetrics(keep(Syscount.open({ alsoByComm: true, countOnly: !syscallTime }))));
          break;
        case 'runqlat':
          metrics.push(latencyMetric(keep(Runqlat.open()), 'aya_runqlat_seconds', 'Scheduler run-queue latency (wake-up or preemption to running), in seconds'));
          break;
        case 'biolatency':
          metrics.push(latencyMetric(keep(Biolatency.open()), 'aya_biolatency_seconds', 'Block I/O latency (issue to completion), in seconds'));
          break;
        case 'tcplife': {
          const tool = keep(Tcplife.open());
          streams.tcplife = tool;
          metrics.push(...tcplifeMetrics(tool, onError));
          break;
        }
        case 'execsnoop': {
          const tool = keep(Execsnoop.open());
          streams.execsnoop = tool;
          metrics.push(...execsnoopMetrics(tool, onError));
          break;
        }
      }
    }
  } catch (err) {
    close();
    throw err;
  }
  if (Object.keys(streams).length > 0) metrics.push(droppedEventsMetric(streams));
  return { metrics, close, [Symbol.dispose]: close };
}

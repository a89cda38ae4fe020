// bpf_printk output: the kernel's trace pipe, parsed line by line.

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as native from '../native';
import { callNative, EbpfError } from '../errors';
import { EventStream, type RecordBatch } from './stream';

export interface TraceLine {
  /** The task's comm as the trace shows it (`<...>` when the kernel no longer knew it). */
  task: string;
  pid: number;
  cpu: number;
  /** Seconds since boot, as the trace clock reports it. */
  timestamp: number;
  /** Irq/preemption flags column (e.g. `d..31`), when present. */
  flags?: string;
  /** The trace function, e.g. `bpf_trace_printk`. */
  function: string;
  message: string;
  /** The line as read. */
  raw: string;
}

const LINE = /^\s*(.*?)-(\d+)\s+(?:\(\s*[\d-]+\)\s+)?\[(\d+)\]\s+(?:(\S{4,5})\s+)?(\d+\.\d+):\s+([^:]+):\s?(.*)$/;

/** Parses one trace_pipe line; `undefined` for lines of another shape. */
export function parseTraceLine(raw: string): TraceLine | undefined {
  const m = LINE.exec(raw);
  if (!m) return undefined;
  const line: TraceLine = {
    task: m[1],
    pid: Number(m[2]),
    cpu: Number(m[3]),
    timestamp: Number(m[5]),
    function: m[6],
    message: m[7],
    raw,
  };
  if (m[4] !== undefined) line.flags = m[4];
  return line;
}

const TRACEFS = '/sys/kernel/tracing';

/** Mounts tracefs at /sys/kernel/tracing when it is not mounted yet. */
export function ensureTracefs(): string {
  if (!existsSync(`${TRACEFS}/trace_pipe`)) {
    try {
      execFileSync('mount', ['-t', 'tracefs', 'tracefs', TRACEFS], { stdio: 'pipe' });
    } catch (err) {
      throw new EbpfError('NOT_FOUND', `tracefs is not mounted at ${TRACEFS} and mounting it failed: ${String(err)}`);
    }
  }
  return TRACEFS;
}

/**
 * The kernel's trace pipe (where `bpf_printk` writes), parsed. Reading consumes the lines:
 * the trace pipe is global, so run one reader at a time on a machine.
 *
 * Needs any Linux with tracefs (bpf_printk: 4.1).
 *
 * ```ts
 * for await (const line of TracePipe.open()) console.log(line.pid, line.message);
 * ```
 */
export class TracePipe extends EventStream<TraceLine> {
  private constructor(reader: native.TracePipeReader) {
    super(reader, 'trace pipe');
  }

  /** Opens the trace pipe, mounting tracefs first if needed. */
  static open(): TracePipe {
    const root = ensureTracefs();
    return new TracePipe(callNative(() => native.TracePipeReader.open(`${root}/trace_pipe`)));
  }

  protected decode(batch: RecordBatch): TraceLine[] {
    const out: TraceLine[] = [];
    batch.forEach((data, start, length) => {
      const line = parseTraceLine(data.toString('utf8', start, start + length));
      if (line) out.push(line);
    });
    return out;
  }
}

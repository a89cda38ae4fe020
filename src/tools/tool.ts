// What the bundled tracepoint tools share: load a bundled object, attach its programs, read
// its `EVENTS` ring buffer, and turn raw events into friendly ones. The programs are raw
// tracepoints: attached by name through bpf() alone, they need no tracefs (which the
// `category/name` tracepoints read their ids from, root-only by default), so CAP_BPF and
// CAP_PERFMON are enough.

import { readFileSync } from 'node:fs';
import type { Codec } from '../codec';
import { Ebpf, type LoadOptions } from '../object';
import type { RingBuf } from '../streams/ring-buf';
import { RawTracePoint } from '../programs';
import { MAP_EVENTS, type StreamReadOptions } from '../streams/stream';
import { bundledObjectPath } from './objects';
import * as validate from '../validate';

/** A raw tracepoint program of the object and the tracepoint it goes on (e.g. `sys_enter`). */
export interface TracepointAttachment {
  program: string;
  tracepoint: string;
}

/** Options every streaming tool takes. */
export interface RingToolOptions {
  /**
   * Size of the tool's ring buffer in bytes (default: the object's, 1 MiB for execsnoop and
   * opensnoop, 256 KiB for tcplife): a power of two, a multiple of the page size, at most
   * `MAX_RING_SIZE`. A bigger ring rides out longer bursts before `drops()` counts losses.
   */
  ringSize?: number;
}

/** The largest `ringSize` a tool takes (the memory is locked kernel memory). */
export const MAX_RING_SIZE = 1 << 30;

let pageSizeCache: number | undefined;

/** The kernel's page size (from /proc/self/smaps; 4096 where that is unreadable). */
export function pageSize(): number {
  if (pageSizeCache === undefined) {
    let found: number | undefined;
    try {
      const m = /^KernelPageSize:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/smaps', 'utf8'));
      if (m) found = Number(m[1]) * 1024;
    } catch {
      // no /proc: assume the common size
    }
    pageSizeCache = found ?? 4096;
  }
  return pageSizeCache;
}

/** Checks a `ringSize` option: a power of two, a multiple of the page size, capped. */
export function ringSizeOption(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const size = validate.integer('options.ringSize', value, pageSize(), MAX_RING_SIZE);
  if ((size & (size - 1)) !== 0) throw new RangeError(`options.ringSize must be a power of two (and a multiple of the ${pageSize()}-byte page), got ${size}`);
  return size;
}

/** Checks a `pid` option: a process id (from 1), or `undefined` (every process). */
export function pidOption(value: unknown, argument = 'options.pid'): number | undefined {
  return value === undefined ? undefined : validate.integer(argument, value, 1, 0xffffffff);
}

/** Longest comm that can match: the kernel's TASK_COMM_LEN is 16 bytes with the NUL. */
export const MAX_COMM_BYTES = 15;

/** Checks a `comm` option: 1 to 15 bytes (a longer one would never match), or `undefined`. */
export function commOption(value: unknown, argument = 'options.comm'): string | undefined {
  if (value === undefined) return undefined;
  const comm = validate.name(argument, value);
  const bytes = Buffer.byteLength(comm);
  if (bytes > MAX_COMM_BYTES) throw new RangeError(`${argument} is ${bytes} bytes, more than the kernel's ${MAX_COMM_BYTES} (TASK_COMM_LEN 16 with the NUL): it would never match, got ${JSON.stringify(comm.length > 40 ? `${comm.slice(0, 40)}...` : comm)}`);
  return comm;
}

/** Runs `build` on `object`, closing the object if it throws (so nothing stays attached). */
export function closingOnError<T>(object: Ebpf, build: (object: Ebpf) => T): T {
  try {
    return build(object);
  } catch (err) {
    object.close();
    throw err;
  }
}

/** Loads `ebpf/objects/<name>.bpf.o` and attaches every program; all or nothing. */
export function openTool(name: string, attachments: TracepointAttachment[], options: LoadOptions & { objectPath?: string } = {}): Ebpf {
  options = validate.options('options', options);
  const object = Ebpf.load(options.objectPath ?? bundledObjectPath(name), options);
  return closingOnError(object, () => {
    for (const a of attachments) object.program(a.program, RawTracePoint).attach(a.tracepoint);
    return object;
  });
}

/** `openTool`, then its `EVENTS` ring buffer decoded with `codec`. */
export function openRingTool<Raw>(
  name: string,
  codec: Codec<Raw>,
  attachments: TracepointAttachment[],
  options: LoadOptions & { objectPath?: string; ringSize?: number } = {},
): OpenedRingTool<Raw> {
  const { ringSize, ...load } = options;
  const size = ringSizeOption(ringSize);
  const object = openTool(name, attachments, size === undefined ? load : { ...load, maxEntries: { ...load.maxEntries, EVENTS: size } });
  // The bundled objects count events lost to a full ring in `DROPS`; an older or custom object may not.
  const dropCounter = object.maps.some((m) => m.name === 'DROPS') ? 'DROPS' : undefined;
  return closingOnError(object, () => {
    const ringSize = object.maps.find((m) => m.name === 'EVENTS')?.maxEntries ?? 0;
    return { object, events: object.ringBuf('EVENTS', codec, { dropCounter }), ringSize };
  });
}

/** A loaded and attached ring tool's object, its `EVENTS` stream and that ring's size in bytes. */
export interface OpenedRingTool<Raw> {
  object: Ebpf;
  events: RingBuf<Raw>;
  ringSize: number;
}

/**
 * What every tool is: the eBPF object it loaded and attached, closed with it. `close()` is
 * quick (raw tracepoint and perf-event links detach without waiting for the kernel);
 * `closeAsync()` / `await using` also keeps the detaching off the event loop and resolves once
 * the kernel objects are released.
 */
export abstract class ObjectTool implements Disposable, AsyncDisposable {
  protected constructor(readonly object: Ebpf) {}

  close(): void {
    this.object.close();
  }

  /** `close()` with the releasing on a worker thread (see `Ebpf.closeAsync`). */
  closeAsync(): Promise<void> {
    return this.object.closeAsync();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.closeAsync();
  }
}

/** A running tool: an async iterable of `Out` until closed. */
export abstract class RingTool<Raw, Out> extends ObjectTool implements AsyncIterable<Out> {
  readonly events: RingBuf<Raw>;
  /** The ring buffer's size in bytes (`ringSize`, or the object's default). */
  readonly ringSize: number;

  protected constructor(opened: OpenedRingTool<Raw>) {
    super(opened.object);
    this.events = opened.events;
    this.ringSize = opened.ringSize;
  }

  /** Turns a raw kernel event into the tool's output; `undefined` drops it. */
  protected abstract convert(raw: Raw): Out | undefined;

  /** The events, one at a time; pass a signal to stop. */
  stream(options?: StreamReadOptions): AsyncGenerator<Out, void, undefined> {
    return this.events[MAP_EVENTS](validate.options('options', options), (raw) => this.convert(raw));
  }

  [Symbol.asyncIterator](): AsyncIterator<Out> {
    return this.stream();
  }

  /**
   * Events the kernel side could not hand over because the ring was full, since open (`0n` for
   * an object without a `DROPS` counter map).
   */
  drops(): bigint {
    return this.object.maps.some((m) => m.name === 'DROPS') ? this.events.drops() : 0n;
  }
}

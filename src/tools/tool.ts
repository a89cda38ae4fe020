// What the bundled tracepoint tools share: load a bundled object, attach its programs, read
// its `EVENTS` ring buffer, and turn raw events into friendly ones. The programs are raw
// tracepoints: attached by name through bpf() alone, they need no tracefs (which the
// `category/name` tracepoints read their ids from, root-only by default), so CAP_BPF and
// CAP_PERFMON are enough.

import type { Codec } from '../codec';
import { Ebpf, type LoadOptions } from '../object';
import type { RingBuf } from '../streams/ring-buf';
import { RawTracePoint } from '../programs';
import type { StreamReadOptions } from '../streams/stream';
import { bundledObjectPath } from './objects';
import * as validate from '../validate';

/** A raw tracepoint program of the object and the tracepoint it goes on (e.g. `sys_enter`). */
export interface TracepointAttachment {
  program: string;
  tracepoint: string;
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
  options: LoadOptions & { objectPath?: string } = {},
): { object: Ebpf; events: RingBuf<Raw> } {
  const object = openTool(name, attachments, options);
  // The bundled objects count events lost to a full ring in `DROPS`; an older or custom object may not.
  const dropCounter = object.maps.some((m) => m.name === 'DROPS') ? 'DROPS' : undefined;
  return closingOnError(object, () => ({ object, events: object.ringBuf('EVENTS', codec, { dropCounter }) }));
}

/** A running tool: an async iterable of `Out` until closed. */
export abstract class RingTool<Raw, Out> implements AsyncIterable<Out>, Disposable {
  protected constructor(
    readonly object: Ebpf,
    readonly events: RingBuf<Raw>,
  ) {}

  /** Turns a raw kernel event into the tool's output; `undefined` drops it. */
  protected abstract convert(raw: Raw): Out | undefined;

  /** The events, one at a time; pass a signal to stop. */
  async *stream(options?: StreamReadOptions): AsyncGenerator<Out, void, undefined> {
    options = validate.options('options', options);
    for await (const raw of this.events.events(options)) {
      const out = this.convert(raw);
      if (out !== undefined) yield out;
    }
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

  close(): void {
    this.object.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

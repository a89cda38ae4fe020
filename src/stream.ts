// The consumer shared by every kernel event stream (ring buffers, perf buffers, eBPF logs,
// the trace pipe): batched async iteration, AbortSignal, Readable and EventEmitter interop.

import { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import type * as native from './native';
import { awaitNative, callNative, EbpfError } from './errors';

/** The native readers all have this shape (see crates/aya-node/src/stream.rs). */
export interface NativeReader {
  read(options: native.ReadOptions): Promise<native.StreamBatch | null>;
  cancel(readId: number): void;
  close(): void;
  readonly closed: boolean;
}

export interface StreamReadOptions {
  /** Ends the iteration: the pending read is cancelled and the loop throws `signal.reason`. */
  signal?: AbortSignal;
  /** Most events per batch (one native call). Default 4096. */
  maxBatch?: number;
  /**
   * Wake-up threshold: wait until this many events are waiting (default 1) ...
   */
  minBatch?: number;
  /** ... but at most this many milliseconds after the first one arrived (default 10). */
  lingerMs?: number;
}

/** Calls `fn(tag, start, length)` for each record of a native batch (`u32 len | u32 tag | bytes | pad8`). */
export function forEachRecord(batch: Buffer, fn: (tag: number, start: number, length: number) => void): void {
  let offset = 0;
  while (offset + 8 <= batch.length) {
    const length = batch.readUInt32LE(offset);
    const tag = batch.readUInt32LE(offset + 4);
    fn(tag, offset + 8, length);
    offset += 8 + length + ((8 - (length % 8)) % 8);
  }
}

const positiveInteger = (name: string, value: number) => {
  if (!Number.isInteger(value) || value < 1) {
    throw new EbpfError('INVALID_ARGUMENT', `${name} must be a positive integer, got ${value}`);
  }
  return value;
};

/**
 * A stream of kernel events of type `T`, read in batches. Iterate it with `for await`, take
 * whole batches with `batches()`, pipe it as a `Readable`, or listen with `on('event', ...)`.
 * One consumer at a time: a second concurrent iteration throws `EbpfError('BUSY')`.
 */
export abstract class EventStream<T> implements AsyncIterable<T>, Disposable, AsyncDisposable {
  /** Events the kernel reported as lost so far (perf buffers; ring buffers count drops separately). */
  lost = 0;
  readonly #reader: NativeReader;
  readonly #what: string;
  #readId = 0;
  #consuming = false;
  #emitter: EventEmitter | undefined;

  protected constructor(reader: NativeReader, what: string) {
    this.#reader = reader;
    this.#what = what;
  }

  /** Turns one native batch into events. */
  protected abstract decode(batch: Buffer, count: number): T[];

  /** Events in batches: each array holds what one wake-up found (up to `maxBatch`). */
  async *batches(options: StreamReadOptions = {}): AsyncGenerator<T[], void, undefined> {
    const { signal } = options;
    const readOptions = {
      readId: 0,
      maxEvents: positiveInteger('maxBatch', options.maxBatch ?? 4096),
      minEvents: positiveInteger('minBatch', options.minBatch ?? 1),
      lingerMs: options.lingerMs ?? 10,
    };
    signal?.throwIfAborted();
    if (this.#consuming) throw new EbpfError('BUSY', `${this.#what} already has a consumer`);
    this.#consuming = true;
    const onAbort = () => this.#reader.cancel(this.#readId);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        // An abort while the consumer was busy (no read pending) is seen here.
        signal?.throwIfAborted();
        readOptions.readId = ++this.#readId;
        const batch = await awaitNative(this.#reader.read(readOptions));
        if (batch === null) {
          signal?.throwIfAborted();
          return;
        }
        if (batch.lost > 0) {
          this.lost += batch.lost;
          this.#emitter?.emit('lost', batch.lost);
        }
        if (batch.count > 0) yield this.decode(batch.data, batch.count);
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.#consuming = false;
    }
  }

  /** Events one at a time (still read from the kernel in batches). */
  async *events(options: StreamReadOptions = {}): AsyncGenerator<T, void, undefined> {
    for await (const batch of this.batches(options)) {
      for (const event of batch) {
        options.signal?.throwIfAborted();
        yield event;
      }
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return this.events();
  }

  /** A Node.js `Readable` in object mode over the events. */
  readable(options: StreamReadOptions = {}): Readable {
    return Readable.from(this.events(options), { objectMode: true });
  }

  /**
   * Callback style: the first `'event'` listener starts a consumer in the background.
   * Emits `'event'` (each event), `'lost'` (count), `'error'` and `'end'` (after `close()`).
   */
  on(name: 'event', listener: (event: T) => void): this;
  on(name: 'lost', listener: (count: number) => void): this;
  on(name: 'error', listener: (err: unknown) => void): this;
  on(name: 'end', listener: () => void): this;
  on(name: string, listener: (...args: any[]) => void): this {
    const emitter = (this.#emitter ??= new EventEmitter());
    emitter.on(name, listener);
    if (name === 'event' && emitter.listenerCount('event') === 1 && !this.#consuming) {
      void (async () => {
        try {
          for await (const batch of this.batches()) for (const event of batch) emitter.emit('event', event);
          emitter.emit('end');
        } catch (err) {
          if (emitter.listenerCount('error') > 0) emitter.emit('error', err);
          else process.emitWarning(`unhandled error in ${this.#what} consumer: ${String(err)}`);
        }
      })();
    }
    return this;
  }

  off(name: string, listener: (...args: any[]) => void): this {
    this.#emitter?.off(name, listener);
    return this;
  }

  get closed(): boolean {
    return this.#reader.closed;
  }

  /** Closes the fd; a running iteration (or background consumer) ends. */
  close(): void {
    callNative(() => this.#reader.close());
  }

  [Symbol.dispose](): void {
    this.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}

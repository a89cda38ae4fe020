// The consumer shared by every kernel event stream (ring buffers, perf buffers, eBPF logs,
// the trace pipe): batched async iteration, AbortSignal, Readable and EventEmitter interop.

import { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import type * as native from '../native';
import { awaitNative, callNative, EbpfError } from '../errors';

/** The native readers all have this shape (see crates/aya-node/src/streams/mod.rs). */
export interface NativeReader {
  read(into: Buffer, options: native.ReadOptions): Promise<native.ReadResult | null>;
  tryRead(into: Buffer, maxEvents: number): native.ReadResult | null;
  arm(callback: () => void): boolean;
  disarm(): void;
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
  /**
   * Size of the buffer batches are read into, reused from batch to batch (default 1 MiB; a
   * batch stops when it is full, and the buffer grows for a record larger than it).
   */
  bufferBytes?: number;
}

/**
 * The records one wake-up found, left where the native core put them: one `Buffer` holding
 * every record (`u32 length | u32 tag | bytes | padding to 8`). Walking it allocates nothing
 * per record; iterating it hands out one `Buffer` view per record.
 *
 * `data` is the stream's read buffer, which the next read overwrites: use a batch before
 * asking for the next one, and copy what you keep (`Buffer.from(view)`).
 *
 * Needs Linux 4.3 (as its stream).
 *
 * ```ts
 * for await (const batch of ring.recordBatches()) batch.forEach((data, start, length) => console.log(length));
 * ```
 */
export class RecordBatch implements Iterable<Buffer> {
  /** @internal */
  constructor(
    /** Every record of the batch, with their headers. */
    readonly data: Buffer,
    /** How many records. */
    readonly count: number,
  ) {}

  /** Calls `fn(data, start, length, tag)` for each record: its bytes are `data[start, start + length)`. */
  forEach(fn: (data: Buffer, start: number, length: number, tag: number) => void): void {
    const data = this.data;
    const header = headerReader(data);
    for (let i = 0, offset = 0; i < this.count; i++) {
      const length = header(offset);
      fn(data, offset + RECORD_HEADER, length, header(offset + 4));
      offset = nextRecord(offset, length);
    }
  }

  /** Each record as a `Buffer` view over `data` (valid until the next batch is read). */
  *[Symbol.iterator](): Iterator<Buffer> {
    const data = this.data;
    const header = headerReader(data);
    for (let i = 0, offset = 0; i < this.count; i++) {
      const length = header(offset);
      yield data.subarray(offset + RECORD_HEADER, offset + RECORD_HEADER + length);
      offset = nextRecord(offset, length);
    }
  }
}

/**
 * The batch layout, in one place (the native side's is `record_size` in
 * crates/aya-node/src/streams/mod.rs): each record is an 8-byte header (`u32 length`, `u32
 * tag`) and its bytes, padded to 8. Returns where the record after the one at `offset` starts.
 * @internal
 */
export function nextRecord(offset: number, length: number): number {
  return offset + RECORD_HEADER + ((length + 7) & ~7);
}

/** Bytes of a record's header; its data starts this far in. @internal */
export const RECORD_HEADER = 8;

const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Reads the `u32` header words of a batch at byte offsets: as array elements when the buffer
 * is 4-byte aligned (always, for the read buffer), several times faster than `readUInt32LE`.
 * @internal
 */
export function headerReader(data: Buffer): (offset: number) => number {
  if (data.byteOffset % 4 !== 0 || !littleEndian) return (offset) => data.readUInt32LE(offset);
  const words = new Uint32Array(data.buffer, data.byteOffset, data.length >>> 2);
  return (offset) => words[offset >>> 2];
}

/** Longest run of synchronous reads before the consumer lets the event loop turn. */
const EVENT_LOOP_TURN_MS = 10;
const DEFAULT_BUFFER_BYTES = 1024 * 1024;

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
 *
 * Needs Linux 4.3 (perf buffers) or 5.8 (ring buffers).
 *
 * ```ts
 * for await (const ev of stream.events({ signal: AbortSignal.timeout(1000) })) console.log(ev);
 * ```
 */
export abstract class EventStream<T> implements AsyncIterable<T>, Disposable, AsyncDisposable {
  /** Events the kernel reported as lost so far (perf buffers; ring buffers count drops separately). */
  lost = 0;
  readonly #reader: NativeReader;
  readonly #what: string;
  #readId = 0;
  #consuming = false;
  #emitter: EventEmitter | undefined;
  /** Resolves the wait of `#readable()`, while one is pending. */
  #wake: (() => void) | undefined;

  protected constructor(reader: NativeReader, what: string) {
    this.#reader = reader;
    this.#what = what;
  }

  /** Turns one native batch into events. */
  protected abstract decode(batch: RecordBatch): T[];

  /** Events in batches: each array holds what one wake-up found (up to `maxBatch`). */
  async *batches(options: StreamReadOptions = {}): AsyncGenerator<T[], void, undefined> {
    for await (const batch of this.recordBatches(options)) yield this.decode(batch);
  }

  /**
   * The undecoded records of each wake-up, as one `RecordBatch`: the fastest way to consume,
   * since nothing is allocated per record until you ask for it.
   */
  async *recordBatches(options: StreamReadOptions = {}): AsyncGenerator<RecordBatch, void, undefined> {
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
    const onAbort = () => {
      this.#reader.cancel(this.#readId);
      this.#stopWaiting();
    };
    let lastTurn = performance.now();
    // One buffer for every read: fresh memory per batch would cost page faults and GC work.
    let buffer = Buffer.alloc(positiveInteger('bufferBytes', options.bufferBytes ?? DEFAULT_BUFFER_BYTES));
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        // An abort while the consumer was busy (no read pending) is seen here.
        signal?.throwIfAborted();
        // Without a minimum batch: take what is waiting synchronously, and when nothing is,
        // wait on Node's own event loop for the fd (one wake-up per batch, no thread hop).
        // A consumer that stays behind lets the event loop turn every few milliseconds, so a
        // producer that never lets up cannot starve other I/O.
        let batch: native.ReadResult | null = null;
        if (readOptions.minEvents === 1) {
          if (performance.now() - lastTurn >= EVENT_LOOP_TURN_MS) {
            await new Promise<void>((resolve) => setImmediate(resolve));
            lastTurn = performance.now();
            continue;
          }
          batch = callNative(() => this.#reader.tryRead(buffer, readOptions.maxEvents));
          if (batch === null) {
            if (!(await this.#readable())) return;
            lastTurn = performance.now();
            continue;
          }
        } else {
          readOptions.readId = ++this.#readId;
          batch = await awaitNative(this.#reader.read(buffer, readOptions));
          lastTurn = performance.now();
          if (batch === null) {
            signal?.throwIfAborted();
            return;
          }
        }
        if (batch.lost > 0) {
          this.lost += batch.lost;
          this.#emitter?.emit('lost', batch.lost);
        }
        if (batch.needBytes > 0) buffer = Buffer.alloc(Math.max(batch.needBytes, 2 * buffer.length));
        if (batch.count > 0) yield new RecordBatch(buffer.subarray(0, batch.bytes), batch.count);
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.#consuming = false;
    }
  }

  /** Waits until the fd has records, the stream closes or the wait is stopped; `false` once closed. */
  #readable(): Promise<boolean> {
    return new Promise((resolve) => {
      this.#wake = () => {
        this.#wake = undefined;
        resolve(!this.#reader.closed);
      };
      if (!callNative(() => this.#reader.arm(() => this.#wake?.()))) this.#wake();
    });
  }

  #stopWaiting(): void {
    if (this.#wake === undefined) return;
    this.#reader.disarm();
    this.#wake();
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
    this.#stopWaiting();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}

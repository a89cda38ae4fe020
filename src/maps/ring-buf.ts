import type * as native from '../native';
import type { Codec } from '../codec';
import { awaitNative, callNative, EbpfError } from '../errors';

export interface RingBufReadOptions {
  /** Stops the iteration: the pending read is cancelled and the loop throws `signal.reason`. */
  signal?: AbortSignal;
  /** Most events handed over per wake-up (one native call). Default 4096. */
  maxBatch?: number;
}

/**
 * A `BPF_MAP_TYPE_RINGBUF` map, read asynchronously. Iterate it with `for await`; events are
 * decoded with the codec given when it was opened, or are `Buffer`s without one. Reading waits
 * on the ring's fd in the native core (epoll through tokio): no polling, no thread per event.
 *
 * One consumer at a time: starting a second iteration while one runs throws `EbpfError('BUSY')`.
 */
export class RingBuf<T = Buffer> implements AsyncIterable<T>, Disposable, AsyncDisposable {
  readonly name: string;
  readonly #reader: native.RingBufReader;
  readonly #codec: Codec<T> | undefined;
  #readId = 0;
  #consuming = false;

  /** @internal */
  constructor(reader: native.RingBufReader, name: string, codec?: Codec<T>) {
    this.#reader = reader;
    this.name = name;
    this.#codec = codec;
  }

  /** Events in batches: each array holds what one wake-up found (up to `maxBatch`). */
  async *batches(options: RingBufReadOptions = {}): AsyncGenerator<T[], void, undefined> {
    const { signal } = options;
    const maxBatch = options.maxBatch ?? 4096;
    if (!Number.isInteger(maxBatch) || maxBatch < 1) {
      throw new EbpfError('INVALID_ARGUMENT', `maxBatch must be a positive integer, got ${maxBatch}`);
    }
    signal?.throwIfAborted();
    if (this.#consuming) {
      throw new EbpfError('BUSY', `ring buffer \`${this.name}\` already has a consumer`);
    }
    this.#consuming = true;
    const onAbort = () => this.#reader.cancel(this.#readId);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        // An abort while the consumer was busy (no read pending) is seen here.
        signal?.throwIfAborted();
        const readId = ++this.#readId;
        const batch = await awaitNative(this.#reader.read(maxBatch, readId));
        if (batch === null) {
          signal?.throwIfAborted();
          return;
        }
        yield this.#split(batch);
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.#consuming = false;
    }
  }

  /** Events one at a time (still read from the kernel in batches). */
  async *events(options: RingBufReadOptions = {}): AsyncGenerator<T, void, undefined> {
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

  get closed(): boolean {
    return this.#reader.closed;
  }

  /** Closes the ring's fd; a running iteration ends. */
  close(): void {
    callNative(() => this.#reader.close());
  }

  [Symbol.dispose](): void {
    this.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  /** Splits a native batch (`u32 len | u32 0 | bytes | pad to 8`, repeated) into events. */
  #split(batch: Buffer): T[] {
    const out: T[] = [];
    const codec = this.#codec;
    let offset = 0;
    while (offset + 8 <= batch.length) {
      const len = batch.readUInt32LE(offset);
      const start = offset + 8;
      if (codec) {
        if (len < codec.size) {
          throw new EbpfError('INVALID_ARGUMENT', `ring buffer \`${this.name}\`: a ${len}-byte event is smaller than ${codec.name} (${codec.size} bytes)`);
        }
        out.push(codec.decode(batch, start));
      } else {
        out.push(batch.subarray(start, start + len) as T);
      }
      offset = start + len + ((8 - (len % 8)) % 8);
    }
    return out;
  }
}

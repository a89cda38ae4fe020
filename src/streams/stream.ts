// The consumer shared by every kernel event stream (ring buffers, perf buffers, eBPF logs,
// the trace pipe): batched async iteration, AbortSignal, Readable and EventEmitter interop.

import { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import type * as native from '../native';
import { EbpfError } from '../errors';
import * as validate from '../validate';

/** `tryRead`'s `result[3]` when it armed its `wake` callback. */
const ARMED = 2;

/** The native readers all have this shape (see crates/aya-node/src/streams/mod.rs). */
export interface NativeReader {
  read(into: Buffer, options: native.ReadOptions): Promise<native.ReadResult | null>;
  /**
   * Returns the records read; `result` gets `[bytes, lost, needBytes, state]`: `state` is 1 when
   * records were left behind, and `ARMED` when the read armed `wake` (it found nothing, or took
   * all a ring buffer had): then the consumer waits without another call.
   */
  tryRead(into: Buffer, maxEvents: number, result: Float64Array, wake?: () => void): number;
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
  ) {
    this.#last = data.length - RECORD_HEADER;
  }

  /** The last place a record's header can start. */
  readonly #last: number;
  #view: DataView | undefined;

  /**
   * A `DataView` over `data`: `view.getUint32(start, true)` reads a field without the argument
   * checks of `data.readUInt32LE(start)`, which counts in a hot loop. (Made at first use: a
   * consumer that decodes with a codec never needs it, and a wake-up should allocate little.)
   */
  get view(): DataView {
    return (this.#view ??= new DataView(this.data.buffer, this.data.byteOffset, this.data.byteLength));
  }

  /**
   * The fastest walk, a plain loop with no callback: `at` is a record's place in `data`, 0 for
   * the first; `next(at)` is the next record's, `start(at)` where its bytes begin, `length(at)`
   * how many there are and `tag(at)` its tag.
   *
   * ```ts
   * const { view } = batch;
   * for (let i = 0, at = 0; i < batch.count; i++, at = batch.next(at)) total += view.getUint32(batch.start(at), true);
   * ```
   */
  next(at: number): number {
    return nextRecord(at, this.length(at));
  }

  /** Where the bytes of the record at `at` begin in `data` (see `next`). */
  start(at: number): number {
    return this.#at(at) + RECORD_HEADER;
  }

  /** How many bytes the record at `at` has (see `next`). */
  length(at: number): number {
    return this.view.getUint32(this.#at(at), true);
  }

  /** The tag of the record at `at`, as `forEach` passes it (see `next`). */
  tag(at: number): number {
    return this.view.getUint32(this.#at(at) + 4, true);
  }

  /** `at`, if a record's header can be there: a few comparisons in the hot loop, the message when not. */
  #at(at: number): number {
    // `>>> 0` keeps a non-negative integer as it is and changes any other number (it throws on
    // a BigInt or a Symbol, hence the typeof first).
    if (typeof at === 'number' && at >>> 0 === at && at <= this.#last) return at;
    return validate.integer('at', at, 0, this.#last);
  }

  /**
   * Calls `fn(data, start, length, tag)` for each record: its bytes are `data[start, start +
   * length)`; `tag` is the CPU that wrote it for a perf event array, and means nothing for a
   * ring buffer (the kernel's own header word).
   */
  forEach(fn: (data: Buffer, start: number, length: number, tag: number) => void): void {
    validate.callback('fn', fn);
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

/**
 * A consumer woken again within `COALESCE_WHEN_MS` of its last read waits this many
 * milliseconds before reading, so that a steady stream of events costs one wake-up per batch
 * rather than one per event.
 */
const COALESCE_MS = 1;
/**
 * Half the wait: events that come about one wait apart (1,000/s) would gather one or two per
 * wait, a timer's wake-up in place of the fd's, and no wake-up saved; they are read at once.
 */
const COALESCE_WHEN_MS = COALESCE_MS / 2;

/** Longest run of synchronous reads before the consumer lets the event loop turn. */
const EVENT_LOOP_TURN_MS = 10;
/** Why a consumer's read waits first (see `readNow` in `#start`). */
const COALESCE = 'coalesce';
const TURN = 'turn';
const DEFAULT_BUFFER_BYTES = 1024 * 1024;

/**
 * What `dropped` runs for a collected iterator: marks its consumer orphaned. Made here, outside
 * the scope that holds the iterator: a closure there would keep it alive through the shared context.
 */
function orphaner(consumer: Consumer): () => void {
  return () => {
    consumer.orphaned = true;
    consumer.dropIdleWait?.();
  };
}

/** Puts `items` in front of `list` (without spreading: a batch can be large). */
function prepend<T>(list: T[], items: T[]): void {
  const rest = list.splice(0);
  for (const item of items) list.push(item);
  for (const item of rest) list.push(item);
}

/** Largest read buffer a stream takes (a record larger than the buffer grows it past this). */
const MAX_BUFFER_BYTES = 1 << 30;

const positiveInteger = (name: string, value: unknown) => {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${typeof value}`);
  if (!Number.isInteger(value) || value < 1 || value > 0xffffffff) {
    throw new RangeError(`${name} must be an integer from 1 to 2^32-1, got ${value}`);
  }
  return value;
};


/** One consumer's read loop over the native reader (see `EventStream.#start`). */
interface Source<X> {
  /** The next batch, or `null` once the stream closed or the consumer was abandoned; throws an abort's reason. */
  next(): Promise<X | null>;
  /**
   * A batch that can be had now, without waiting (records already in the kernel's buffer), or
   * `undefined` when `next()` must be awaited: a consumer that keeps up takes each batch
   * without a promise chain through the layers.
   */
  poll?(): X | undefined;
  /**
   * After a `poll()` that found the source empty: waits for its fd and then calls `ready` once,
   * never synchronously, to `poll()` again (`false` once the stream ended); returns `false`,
   * and calls nothing, when `next()` must be awaited instead. The wake-up itself settles the
   * consumer's `next()`: no promise or async step per layer.
   */
  wait?(ready: (open: boolean) => void): boolean;
  /** Gives the stream back (for the next consumer); the source then ends. */
  end(): void;
}

/** One consumer's reads of undecoded records. */
type ReadLoop = Source<RecordBatch>;

/** Batches of decoded events, for `EventIterator`: `null` at the end. @internal */
export type BatchSource<T> = Source<T[]>;

/** Yields each batch of the source `open` makes (at the first `next()`), ending it however the iteration ends. */
async function* untilEnd<X>(open: () => Source<X>): AsyncGenerator<X, void, undefined> {
  const source = open();
  try {
    for (;;) {
      const batch = await source.next();
      if (batch === null) return;
      yield batch;
    }
  } finally {
    source.end();
  }
}

/** One iteration of a stream: which read is its own, and whether its iterator was dropped. @internal */
export interface Consumer {
  readId: number;
  /** Set when the consumer was ended from outside (taken over): end quietly. */
  abandoned: boolean;
  /**
   * Set when its iterator was garbage-collected. A read it has pending goes on (someone may
   * still await that `next()`: `await stream[Symbol.asyncIterator]().next()`), and the next
   * consumer to start takes the stream over instead of getting `BUSY`.
   */
  orphaned?: boolean;
  /** Ends this consumer's read and its hold on the stream (set while it holds the stream). */
  takeOver?: () => void;
  /**
   * Drops a wait its last read armed and nobody awaited (set while it holds the stream): the
   * armed callback is a strong reference from the native core to the stream, which would keep
   * a stream and its object that nobody uses any more from being collected.
   */
  dropIdleWait?: () => void;
}

/**
 * An iterator dropped with a read pending cannot be `return()`ed by anyone, so it would hold
 * the stream (`BUSY`) forever: when it is collected, its consumer is marked orphaned, and the
 * next consumer takes the stream over. The held callback must not reference the iterator.
 */
const dropped = new FinalizationRegistry<() => void>((release) => release());

/** The key of `EventStream`'s mapped `events()`, for the tools (not part of the public API). @internal */
export const MAP_EVENTS: unique symbol = Symbol('aya-node.mapEvents');

const DONE: IteratorReturnResult<void> = Object.freeze({ done: true, value: undefined });
/** `EventIterator.#take` found no event without waiting. */
const NONE: unique symbol = Symbol('none');

/**
 * `events()`: one event per `next()`, without a generator per event. A batch is decoded at
 * once; while it lasts, `next()` returns an already-resolved promise (one microtask for the
 * `for await`, no generator resumption or promise chain per event), and so does a `next()`
 * that finds the next batch already waiting (`Source.poll`). A `next()` that must wait for
 * the kernel returns a promise the wake-up settles itself with the next event (`Source.wait`:
 * one promise and one microtask per wake-up). Steps run one at a time, in call order, as a
 * generator's would.
 * Leaving early (`return()`, `throw()`, a `break`, an abandoned consumer, an aborted signal or
 * a throwing `map`) hands the untaken rest of the batch to `putBack`, for the next consumer.
 * `map` turns each event into what `next()` yields (the tools' conversion); `undefined` skips
 * the event. Exported for its unit tests. @internal
 */
export class EventIterator<T, Out = T> implements AsyncGenerator<Out, void, undefined> {
  #batch: T[] = [];
  #next = 0;
  #done = false;
  /** The step in flight, while one is: later calls queue behind it. */
  #busy: Promise<unknown> | undefined;
  readonly #source: BatchSource<T>;
  readonly #consumer: Consumer;
  readonly #signal: AbortSignal | undefined;
  readonly #putBack: (rest: T[]) => void;
  readonly #map: ((event: T) => Out | undefined) | undefined;

  constructor(
    source: BatchSource<T>,
    consumer: Consumer,
    signal: AbortSignal | undefined,
    putBack: (rest: T[]) => void,
    map?: (event: T) => Out | undefined,
  ) {
    this.#source = source;
    this.#consumer = consumer;
    this.#signal = signal;
    this.#putBack = putBack;
    this.#map = map;
  }

  next(): Promise<IteratorResult<Out, void>> {
    if (this.#busy === undefined && !this.#done && !this.#consumer.abandoned && this.#signal?.aborted !== true) {
      let value: Out | typeof NONE;
      let waits: boolean | undefined;
      try {
        value = this.#take(true);
        // Nothing at hand: the wake-up settles this promise itself (`#woken`), with no async
        // step to resume and no promise chained after it. Later calls queue behind it.
        if (value === NONE) waits = this.#source.wait?.(this.#woken);
      } catch (err) {
        return this.#serial(() => this.#failed(err));
      }
      if (value !== NONE) return Promise.resolve({ done: false, value });
      if (waits === true) {
        const waiting = new Promise<IteratorResult<Out, void>>(this.#waitExecutor);
        this.#busy = this.#waiting = waiting;
        return waiting;
      }
    }
    return this.#serial(() => this.#step());
  }

  /** The `next()` waiting for a wake-up (see `#woken`), and what settles it. */
  #waiting: Promise<IteratorResult<Out, void>> | undefined;
  #settle: ((result: IteratorResult<Out, void> | Promise<IteratorResult<Out, void>>) => void) | undefined;
  /** Keeps the waiting `next()`'s resolver (made once: a wait allocates no closure). */
  readonly #waitExecutor = (resolve: (result: IteratorResult<Out, void> | Promise<IteratorResult<Out, void>>) => void) => {
    this.#settle = resolve;
  };

  /**
   * The source's wake-up for the waiting `next()`: it takes the next event at once when the
   * consumer can have it, and leaves everything else (closed, abandoned, aborted, orphaned, no
   * batch after all) to `#step`, as after its own wait.
   */
  readonly #woken = (open: boolean): void => {
    const settle = this.#settle;
    const waiting = this.#waiting;
    if (settle === undefined || waiting === undefined) return;
    this.#settle = undefined;
    this.#waiting = undefined;
    if (open && !this.#consumer.abandoned && this.#consumer.orphaned !== true && this.#signal?.aborted !== true) {
      let value: Out | typeof NONE;
      try {
        value = this.#take(true);
      } catch (err) {
        this.#idleAfter(waiting);
        settle(this.#failed(err));
        return;
      }
      if (value !== NONE) {
        // Unless calls queued behind it, the next call may take the fast path again.
        this.#idle(waiting);
        settle({ done: false, value });
        return;
      }
    }
    this.#idleAfter(waiting);
    settle(this.#step(open));
  };

  /** After `next()`'s step threw `err`: ends the iteration (keeping the untaken events), then throws it. */
  async #failed(err: unknown): Promise<never> {
    await this.#finish();
    throw err;
  }

  /**
   * The next event of the batch (mapped), or, when `poll` and the batch is used up, of a batch
   * the source has at once; `NONE` when there is none without waiting.
   */
  #take(poll: boolean): Out | typeof NONE {
    for (;;) {
      while (this.#next < this.#batch.length) {
        const event = this.#batch[this.#next++];
        if (this.#map === undefined) return event as unknown as Out;
        const out = this.#map(event);
        if (out !== undefined) return out;
      }
      const batch = poll ? this.#source.poll?.() : undefined;
      if (batch === undefined) return NONE;
      this.#batch = batch;
      this.#next = 0;
    }
  }

  return(): Promise<IteratorResult<Out, void>> {
    return this.#serial(async () => {
      await this.#finish();
      return DONE;
    });
  }

  throw(err: unknown): Promise<IteratorResult<Out, void>> {
    return this.#serial(async () => {
      await this.#finish();
      throw err;
    });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.return();
  }

  /**
   * The slow step: the next event once the batch is used up, or the end. `woken`: what a wait
   * made before the step said (the stream is open, or ended); the step then polls at once.
   */
  async #step(woken?: boolean): Promise<IteratorResult<Out, void>> {
    for (;;) {
      if (this.#done) return DONE;
      if (this.#next < this.#batch.length) {
        // As a generator checks before each yield: an abandoned consumer ends quietly, an
        // aborted one throws; either way the events it did not take are kept.
        if (this.#consumer.abandoned) {
          await this.#finish();
          return DONE;
        }
        if (this.#signal?.aborted) {
          await this.#finish();
          this.#signal.throwIfAborted();
        }
        let value: Out | typeof NONE;
        try {
          value = this.#take(false);
        } catch (err) {
          await this.#finish();
          throw err;
        }
        if (value !== NONE) return { done: false, value };
        continue;
      }
      let batch: T[] | null | undefined;
      try {
        // The wait for the kernel, when the source has one: poll after it resumes us.
        if (woken === undefined) {
          const ready = this.#wait();
          if (ready !== undefined) woken = await ready;
        }
        if (woken !== undefined) batch = woken ? this.#source.poll?.() : null;
        woken = undefined;
        if (batch === undefined) batch = await this.#source.next();
        // Orphaned while waiting: only the awaited next() can still take an event; the rest
        // goes back to the stream for the next consumer.
        if (batch !== null && batch.length > 1 && this.#consumer.orphaned) {
          this.#putBack(batch.slice(1));
          batch = batch.slice(0, 1);
        }
      } catch (err) {
        this.#done = true;
        this.#source.end();
        throw err;
      }
      if (batch === null) {
        this.#done = true;
        this.#source.end();
        return DONE;
      }
      this.#batch = batch;
      this.#next = 0;
    }
  }

  /** Ends the iteration, keeping the untaken events, and ends the source (its read, its hold on the stream). */
  async #finish(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    const rest = this.#next < this.#batch.length ? this.#batch.slice(this.#next) : undefined;
    this.#batch = [];
    this.#next = 0;
    if (rest) this.#putBack(rest);
    this.#source.end();
  }

  /** The source's wait as a promise (`undefined` when it has none to make). */
  #wait(): Promise<boolean> | undefined {
    let ready: ((open: boolean) => void) | undefined;
    const wait = new Promise<boolean>((resolve) => (ready = resolve));
    return this.#source.wait?.(ready!) === true ? wait : undefined;
  }

  #serial<R>(step: () => Promise<R>): Promise<R> {
    const run = this.#busy ? this.#busy.then(step, step) : step();
    this.#busy = run;
    this.#idleAfter(run);
    return run;
  }

  /** Clears `#busy` once `busy` settles, unless a later call queued behind it. */
  #idleAfter(busy: Promise<unknown>): void {
    busy.then(
      () => this.#idle(busy),
      () => this.#idle(busy),
    );
  }

  #idle(busy: Promise<unknown>): void {
    if (this.#busy === busy) this.#busy = undefined;
  }
}

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
  /** The consumer holding the stream, while one does. */
  #holder: Consumer | undefined;
  #emitter: EventEmitter | undefined;
  /** Resolves the wait of `#readable()`, while one is pending. */
  #resolve: ((open: boolean) => void) | undefined;
  /**
   * Events taken from the kernel but not handed to anyone: the rest of a batch when a consumer
   * left in the middle of it (`break`). The next consumer gets them first, so none is lost.
   */
  readonly #pending: T[] = [];

  protected constructor(reader: NativeReader, what: string) {
    this.#reader = reader;
    this.#what = what;
  }

  /** Turns one native batch into events. */
  protected abstract decode(batch: RecordBatch): T[];

  /** Events in batches: each array holds what one wake-up found (up to `maxBatch`). */
  batches(options: StreamReadOptions = {}): AsyncGenerator<T[], void, undefined> {
    options = validate.options('options', options);
    return this.#consumer((consumer) => untilEnd(() => this.#decoded(options, consumer)));
  }

  /**
   * One consumer's decoded batches: the leftovers of an earlier consumer first, then each
   * batch read. The first `next()` takes the stream (or throws `BUSY`).
   */
  #decoded(options: StreamReadOptions, consumer: Consumer): BatchSource<T> {
    let loop: ReadLoop | undefined;
    return {
      next: async () => {
        if (loop === undefined) {
          loop = this.#start(options, consumer);
          if (this.#pending.length > 0) return this.#keep(this.#pending.splice(0), consumer);
        }
        const batch = await loop.next();
        return batch === null ? null : this.#keep(this.decode(batch), consumer);
      },
      poll: () => {
        // The first batch comes from next(): it takes the stream, and the leftovers come first.
        const batch = loop?.poll?.();
        return batch === undefined ? undefined : (this.#keep(this.decode(batch), consumer) ?? undefined);
      },
      wait: (ready) => loop?.wait?.(ready) ?? false,
      end: () => loop?.end(),
    };
  }

  /**
   * `events` if they can be handed out: yes while the consumer exists (even if its signal has
   * just aborted: it gets what was read, and the abort on its next step); for an abandoned
   * consumer they wait for the next one, and this one ends (`null`).
   */
  #keep(events: T[], consumer: Consumer): T[] | null {
    if (!consumer.abandoned) return events;
    prepend(this.#pending, events);
    return null;
  }

  /**
   * The undecoded records of each wake-up, as one `RecordBatch`: the fastest way to consume,
   * since nothing is allocated per record until you ask for it.
   */
  recordBatches(options: StreamReadOptions = {}): AsyncGenerator<RecordBatch, void, undefined> {
    options = validate.options('options', options);
    return this.#consumer((consumer) => untilEnd(() => this.#start(options, consumer)));
  }

  /**
   * Takes the stream for one consumer (or throws `BUSY`) and returns its read loop: a plain
   * async function per batch, not a generator, so a wake-up costs one promise, not a chain of
   * generator resumptions.
   */
  #start(options: StreamReadOptions, consumer: Consumer): ReadLoop {
    const { signal } = options;
    const readOptions = {
      readId: 0,
      maxEvents: positiveInteger('maxBatch', options.maxBatch ?? 4096),
      minEvents: positiveInteger('minBatch', options.minBatch ?? 1),
      lingerMs: validate.integer('lingerMs', options.lingerMs ?? 10, 0, 0xffffffff),
    };
    const bufferBytes = positiveInteger('bufferBytes', options.bufferBytes ?? DEFAULT_BUFFER_BYTES);
    if (bufferBytes > MAX_BUFFER_BYTES) throw new RangeError(`bufferBytes must be at most ${MAX_BUFFER_BYTES}, got ${bufferBytes}`);
    signal?.throwIfAborted();
    if (this.#holder?.orphaned) this.#holder.takeOver?.();
    if (this.#holder) throw new EbpfError('BUSY', `${this.#what} already has a consumer`);
    this.#holder = consumer;
    const reader = this.#reader;
    const onAbort = () => {
      reader.cancel(this.#readId);
      this.#stopWaiting();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    let lastTurn = performance.now();
    // One buffer for every read: fresh memory per batch would cost page faults and GC work.
    let buffer = Buffer.alloc(bufferBytes);
    /** What `tryRead` reports besides the count: bytes, lost, needBytes, state (see `ARMED`). */
    const result = new Float64Array(4);
    /** The last read found nothing: wait for the fd before reading again. */
    let drained = false;
    /** When this consumer last read after a wake-up. */
    let lastRead = -Infinity;
    /** The fd turned readable and nothing was read since (see COALESCE_MS). */
    let woke = false;
    /** The read that set `drained` also armed the wait (see `tryRead`). */
    let armed = false;
    let ended = false;
    /**
     * What a read found: a batch of its records, or `undefined` when it found none (after
     * counting what it reported lost and growing the buffer for a record too large for it).
     */
    const took = (count: number, bytes: number, lost: number, needBytes: number): RecordBatch | undefined => {
      if (lost > 0) {
        this.lost += lost;
        this.#emitter?.emit('lost', lost);
      }
      if (needBytes > 0) buffer = Buffer.alloc(Math.max(needBytes, 2 * buffer.length));
      return count > 0 ? new RecordBatch(buffer.subarray(0, bytes), count) : undefined;
    };
    /**
     * A synchronous read, without a minimum batch: `undefined` when the source is empty. The
     * same native call arms the wait when it found the source empty, or took all a ring buffer
     * had (`armed`): then the source counts as `drained`, and the next step waits at once.
     */
    const tryRead = (): RecordBatch | undefined => {
      for (;;) {
        this.#firedIdle = false; // a new arm
        const count = reader.tryRead(buffer, readOptions.maxEvents, result, this.#onReadable);
        armed = result[3] === ARMED;
        if (count === 0 && result[1] === 0 && result[2] === 0) {
          drained = true;
          return undefined;
        }
        const batch = took(count, result[0], result[1], result[2]);
        if (batch !== undefined) {
          drained = armed;
          return batch;
        }
      }
    };
    /** Whether the last read armed the wait, used up by the wait that follows it. */
    const takeArmed = (): boolean => {
      const wasArmed = armed;
      armed = false;
      return wasArmed;
    };
    /** The wait after a read that drained the source. */
    const readable = (): Promise<boolean> => this.#readable(takeArmed());
    const next = async (): Promise<RecordBatch | null> => {
      for (;;) {
        // An abort while the consumer was busy (no read pending) is seen here.
        signal?.throwIfAborted();
        if (ended) return null;
        if (readOptions.minEvents === 1) {
          // Without a minimum batch: take what is waiting synchronously, and when nothing is,
          // wait on Node's own event loop for the fd (one wake-up per batch, no thread hop).
          // (A read waits only once a read armed the wait, or found the source empty: a
          // ring buffer's drain re-checks the producer before it arms, see `tryRead`.)
          // A consumer that stays behind lets the event loop turn every few milliseconds, so a
          // producer that never lets up cannot starve other I/O.
          if (drained) {
            drained = false;
            if (!(await readable()) || consumer.abandoned) return null;
            woke = true;
            continue; // an abort or close while waiting is seen first
          }
          const got = readNow();
          if (got === COALESCE) {
            // Woken within COALESCE_WHEN_MS of the last read: the events come steadily and fast, so
            // let them gather for COALESCE_MS before reading (the source does not wake us again
            // meanwhile): one wake-up per few events instead of one each. Bounded latency,
            // and nothing changes for a consumer woken less often than that.
            woke = false;
            await new Promise<void>((resolve) => setTimeout(resolve, COALESCE_MS));
            lastRead = lastTurn = performance.now();
            continue;
          }
          if (got === TURN) {
            await new Promise<void>((resolve) => setImmediate(resolve));
            lastTurn = performance.now();
            continue;
          }
          if (got !== undefined) return got;
        } else {
          readOptions.readId = consumer.readId = ++this.#readId;
          const read = await reader.read(buffer, readOptions);
          lastTurn = performance.now();
          if (read === null) {
            if (!consumer.abandoned) signal?.throwIfAborted();
            return null;
          }
          const batch = took(read.count, read.bytes, read.lost, read.needBytes);
          if (batch !== undefined) return batch;
        }
      }
    };
    /**
     * The read `next()` makes once the fd is known readable, unless it must first let wake-ups
     * gather (`COALESCE`: woken within COALESCE_WHEN_MS of the last read) or let the event loop turn
     * (`TURN`: reading for EVENT_LOOP_TURN_MS); `undefined` when the source was empty.
     */
    const readNow = (): RecordBatch | undefined | typeof COALESCE | typeof TURN => {
      const now = performance.now();
      if (woke) {
        if (now - lastRead < COALESCE_WHEN_MS) return COALESCE;
        woke = false;
        lastRead = lastTurn = now;
      } else if (now - lastTurn >= EVENT_LOOP_TURN_MS) {
        return TURN;
      }
      return tryRead();
    };
    /** `next()`'s synchronous read, when it would read at once (see `Source.poll`). */
    const poll = (): RecordBatch | undefined => {
      if (ended || drained || readOptions.minEvents !== 1 || signal?.aborted === true) return undefined;
      const got = readNow();
      return got === COALESCE || got === TURN ? undefined : got;
    };
    /** The wait `next()` would make after an empty `poll()` (see `Source.wait`). */
    const wait = (ready: (open: boolean) => void): boolean => {
      if (ended || !drained || readOptions.minEvents !== 1 || signal?.aborted === true) return false;
      drained = false;
      woke = true;
      // An abandoned consumer's loop has ended: the poll after this finds nothing, and next() ends it.
      this.#readableThen(takeArmed(), ready);
      return true;
    };
    /** A wait armed by the last read and never awaited: dropped when the consumer goes. */
    const dropIdleWait = () => {
      if (!armed) return;
      armed = false;
      reader.disarm();
    };
    consumer.dropIdleWait = dropIdleWait;
    const end = () => {
      if (ended) return;
      ended = true;
      dropIdleWait();
      signal?.removeEventListener('abort', onAbort);
      if (this.#holder === consumer) this.#holder = undefined;
    };
    consumer.takeOver = () => {
      consumer.abandoned = true;
      reader.cancel(consumer.readId);
      this.#stopWaiting();
      end();
    };
    return { next, poll, wait, end };
  }

  /**
   * The callback `arm` gets, made once (a wake-up allocates no closure). The native core calls
   * it only while the reader is open (closing drops the wait first), so it resolves `true`. A
   * read that emptied a ring arms it before the consumer waits: if it runs in between (the
   * consumer was busy), `#firedIdle` keeps the wake-up for the wait that comes next.
   */
  readonly #onReadable = () => {
    if (this.#resolve === undefined) this.#firedIdle = true;
    else this.#wake(true);
  };
  /** The armed callback ran while nobody waited (see `#onReadable`); cleared by each arm. */
  #firedIdle = false;
  /** Keeps the pending wait's resolver in `#resolve` (one executor for every wait). */
  readonly #waitExecutor = (resolve: (open: boolean) => void) => {
    this.#resolve = resolve;
  };

  /**
   * Waits until the fd has records, the stream closes or the wait is stopped; `false` once
   * closed. `armed`: the read that found the source empty armed the callback already.
   */
  #readable(armed: boolean): Promise<boolean> {
    const wait = new Promise<boolean>(this.#waitExecutor);
    this.#arm(armed);
    return wait;
  }

  /** `#readable`, calling `ready` (never synchronously) instead of settling a promise. */
  #readableThen(armed: boolean, ready: (open: boolean) => void): void {
    this.#resolve = ready;
    this.#arm(armed);
  }

  /** Arms the wait `#resolve` ends, unless the read did; ends it when it is over already. */
  #arm(armed: boolean): void {
    if (armed) {
      // Armed by the read, maybe a while ago: it may have fired already, or the stream closed
      // (closing drops the armed callback without calling it).
      if (this.#firedIdle || this.#reader.closed) this.#wakeLater(!this.#reader.closed);
    } else {
      this.#firedIdle = false;
      let waiting: boolean;
      try {
        waiting = this.#reader.arm(this.#onReadable);
      } catch (err) {
        this.#resolve = undefined; // nobody waits: the error goes to the consumer instead
        throw err;
      }
      if (!waiting) this.#wakeLater(!this.#reader.closed);
    }
  }

  /** Ends the pending wait, if any, with `open`, at once: for the native wake-up, which runs at the top of the stack. */
  #wake(open: boolean): void {
    const resolve = this.#resolve;
    this.#resolve = undefined;
    resolve?.(open);
  }

  /**
   * Ends the pending wait, if any, with `open`, in a microtask (as a promise's reaction would
   * run): from inside a call (arming, an abort, `close()`, a takeover), the consumer's wake-up
   * must not run before that call is done.
   */
  #wakeLater(open: boolean): void {
    const resolve = this.#resolve;
    if (resolve === undefined) return;
    this.#resolve = undefined;
    queueMicrotask(() => resolve(open));
  }

  #stopWaiting(): void {
    if (this.#resolve === undefined) return;
    this.#reader.disarm();
    this.#wakeLater(!this.#reader.closed);
  }

  /** Events one at a time (still read from the kernel in batches). */
  events(options: StreamReadOptions = {}): AsyncGenerator<T, void, undefined> {
    return this[MAP_EVENTS](options, undefined);
  }

  /**
   * `events()`, each event turned into what `map` returns, and skipped when that is
   * `undefined` (the tools' conversion, without a generator around the iterator). @internal
   */
  [MAP_EVENTS]<Out = T>(options: StreamReadOptions = {}, map: ((event: T) => Out | undefined) | undefined): AsyncGenerator<Out, void, undefined> {
    options = validate.options('options', options);
    if (map !== undefined) validate.callback('map', map);
    const pending = this.#pending;
    return this.#consumer(
      (consumer) => new EventIterator<T, Out>(this.#decoded(options, consumer), consumer, options.signal, (rest) => prepend(pending, rest), map),
    );
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return this.events();
  }

  /**
   * A Node.js `Readable` in object mode over the events. `destroy()` ends the read it was
   * waiting on; events it had not pushed go to the next consumer.
   */
  readable(options: StreamReadOptions = {}): Readable {
    options = validate.options('options', options);
    const pending = this.#pending;
    const controller = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
    const events = this.events({ ...options, signal });
    // Events that arrived after destroy(): back to the stream once the generator has put back
    // the rest of its batch (they come before it).
    const orphans: T[] = [];
    const readable = new Readable({
      objectMode: true,
      read() {
        events.next().then(
          ({ done, value }) => {
            if (done) readable.push(null);
            else if (readable.destroyed) orphans.push(value);
            else readable.push(value);
          },
          (err: unknown) => {
            if (!readable.destroyed) readable.destroy(err as Error);
          },
        );
      },
      destroy(err, callback) {
        controller.abort(); // ends a pending read
        events.return().then(
          () => prepend(pending, orphans),
          () => prepend(pending, orphans),
        );
        callback(err);
      },
    });
    return readable;
  }

  /**
   * Wraps a consumer's generator in an iterator of its own, so that dropping the iterator
   * (garbage collection) can release the stream; see `dropped`.
   */
  #consumer<X>(make: (consumer: Consumer) => AsyncGenerator<X, void, undefined>): AsyncGenerator<X, void, undefined> {
    const consumer: Consumer = { readId: 0, abandoned: false };
    const inner = make(consumer);
    const outer: AsyncGenerator<X, void, undefined> = {
      next: (...args) => inner.next(...args),
      return: (value) => inner.return(value),
      throw: (err) => inner.throw(err),
      [Symbol.asyncIterator]() {
        return outer;
      },
      async [Symbol.asyncDispose]() {
        await inner.return();
      },
    };
    dropped.register(outer, orphaner(consumer));
    return outer;
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
    validate.oneOf('name', name, ['event', 'lost', 'error', 'end']);
    validate.callback('listener', listener);
    const emitter = (this.#emitter ??= new EventEmitter());
    emitter.on(name, listener);
    if (name === 'event' && emitter.listenerCount('event') === 1 && this.#holder === undefined) {
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
    validate.oneOf('name', name, ['event', 'lost', 'error', 'end']);
    validate.callback('listener', listener);
    this.#emitter?.off(name, listener);
    return this;
  }

  get closed(): boolean {
    return this.#reader.closed;
  }

  /** Closes the fd; a running iteration (or background consumer) ends. */
  close(): void {
    this.#reader.close();
    this.#stopWaiting();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}

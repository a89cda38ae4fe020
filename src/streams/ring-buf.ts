import type * as native from '../native';
import { decoderFor, type Codec } from '../codec';
import { EbpfError } from '../errors';
import { EventStream, headerReader, nextRecord, RECORD_HEADER, RecordBatch } from './stream';

export interface RingBufOptions {
  /**
   * Name of the per-CPU `u64` array where the programs count events they could not write
   * because the ring was full (`aya_node_ebpf::ring::output_or_count_drop`); enables `drops()`.
   */
  dropCounter?: string;
}

/**
 * A `BPF_MAP_TYPE_RINGBUF` map, read asynchronously: `for await (const ev of ring)`. Events are
 * decoded with the codec it was opened with, or are `Buffer`s without one. Reading waits on the
 * ring's fd in the native core (epoll through tokio): no polling, no thread per event.
 *
 * Needs Linux 5.8.
 *
 * ```ts
 * for await (const ev of obj.ringBuf('EVENTS', Event)) console.log(ev);
 * ```
 */
export class RingBuf<T = Buffer> extends EventStream<T> {
  readonly name: string;
  readonly #codec: Codec<T> | undefined;
  readonly #drops: (() => bigint) | undefined;

  /** @internal */
  constructor(reader: native.RingBufReader, name: string, codec?: Codec<T>, drops?: () => bigint) {
    super(reader, `ring buffer \`${name}\``);
    this.name = name;
    this.#codec = codec;
    this.#drops = drops;
  }

  /** Events dropped because the ring was full, summed over CPUs (needs the `dropCounter` option). */
  drops(): bigint {
    if (!this.#drops) {
      throw new EbpfError('INVALID_ARGUMENT', `ring buffer \`${this.name}\` was opened without a dropCounter`);
    }
    return this.#drops();
  }

  protected decode(batch: RecordBatch): T[] {
    const codec = this.#codec;
    // Events that are Buffers must outlive the read buffer: one copy per batch, views into it.
    if (!codec) return [...new RecordBatch(Buffer.from(batch.data), batch.count)] as T[];
    // The hot loop of a decoding consumer, written out (no callback per event).
    const { data, count } = batch;
    const { header, decode } = this.#readers(data, codec);
    // Records are read at `base + offset` in the whole read buffer (see `#readers`).
    const base = data.byteOffset;
    const out: T[] = new Array(count);
    for (let i = 0, offset = 0; i < count; i++) {
      const length = header(base + offset);
      // Exactly the codec's size: a larger event would decode silently with fields missing.
      if (length !== codec.size) throw sizeMismatch(this.name, length, codec);
      out[i] = decode(base + offset + RECORD_HEADER);
      offset = nextRecord(offset, length);
    }
    return out;
  }

  /**
   * The header reader and decoder over the whole buffer under `data` (the stream's read
   * buffer, the same from batch to batch), made once per buffer rather than per batch.
   */
  #readers(data: Buffer, codec: Codec<T>): { header: (offset: number) => number; decode: (offset: number) => T } {
    if (this.#cachedReaders?.buffer !== data.buffer) {
      const whole = Buffer.from(data.buffer, 0, data.buffer.byteLength);
      this.#cachedReaders = { buffer: data.buffer, header: headerReader(whole), decode: decoderFor(codec, whole) };
    }
    return this.#cachedReaders;
  }

  #cachedReaders: { buffer: ArrayBufferLike; header: (offset: number) => number; decode: (offset: number) => T } | undefined;
}

/** The guard's error: names both sizes, so a struct that changed on one side is found at once. */
function sizeMismatch(name: string, length: number, codec: Codec<unknown>): EbpfError {
  return new EbpfError(
    'INVALID_ARGUMENT',
    `ring buffer \`${name}\`: a ${length}-byte event does not match its codec ${codec.name} (${codec.size} bytes); ` +
      'the struct differs between the eBPF program and TypeScript (regenerate the types: aya-node build)',
  );
}

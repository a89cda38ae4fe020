import type * as native from '../native';
import { decoderFor, StructCodec, type Codec } from '../codec';
import { EbpfError } from '../errors';
import { EventStream, headerReader, LITTLE_ENDIAN, nextRecord, RECORD_HEADER, RecordBatch } from './stream';

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
    const views = this.#views(data);
    if (views === undefined) return this.#decodeAny(batch, codec);
    // Records are read at `base + offset` in the whole read buffer, whose views are made once.
    const { words, view, whole } = views;
    const { decodeWithView } = codec as unknown as StructCodec<Record<string, Codec<unknown>>>;
    const base = data.byteOffset;
    const out: T[] = new Array(count);
    for (let i = 0, offset = 0; i < count; i++) {
      const length = words[(base + offset) >>> 2];
      // Exactly the codec's size: a larger event would decode silently with fields missing.
      if (length !== codec.size) throw sizeMismatch(this.name, length, codec);
      out[i] = decodeWithView(whole, view, base + offset + RECORD_HEADER) as T;
      offset = nextRecord(offset, length);
    }
    return out;
  }

  /**
   * Views over the whole buffer under `data` (the stream's read buffer, the same from batch to
   * batch), made once rather than per batch; `undefined` for a codec that is not a struct or a
   * buffer not 4-byte aligned.
   */
  #views(data: Buffer): { whole: Buffer; view: DataView; words: Uint32Array } | undefined {
    const cached = this.#cachedViews;
    if (cached !== undefined && cached.whole.buffer === data.buffer) return cached;
    if (!(this.#codec instanceof StructCodec) || data.byteOffset % 4 !== 0 || !LITTLE_ENDIAN) return undefined;
    const whole = Buffer.from(data.buffer);
    const views = { whole, view: new DataView(data.buffer), words: new Uint32Array(data.buffer, 0, data.buffer.byteLength >>> 2) };
    this.#cachedViews = views;
    return views;
  }

  #cachedViews: { whole: Buffer; view: DataView; words: Uint32Array } | undefined;

  /** `decode` for any codec and buffer, with views made for this batch. */
  #decodeAny(batch: RecordBatch, codec: Codec<T>): T[] {
    const { data, count } = batch;
    const header = headerReader(data);
    const decode = decoderFor(codec, data);
    const out: T[] = new Array(count);
    for (let i = 0, offset = 0; i < count; i++) {
      const length = header(offset);
      if (length !== codec.size) throw sizeMismatch(this.name, length, codec);
      out[i] = decode(offset + RECORD_HEADER);
      offset = nextRecord(offset, length);
    }
    return out;
  }
}

/** The guard's error: names both sizes, so a struct that changed on one side is found at once. */
function sizeMismatch(name: string, length: number, codec: Codec<unknown>): EbpfError {
  return new EbpfError(
    'INVALID_ARGUMENT',
    `ring buffer \`${name}\`: a ${length}-byte event does not match its codec ${codec.name} (${codec.size} bytes); ` +
      'the struct differs between the eBPF program and TypeScript (regenerate the types: aya-node build)',
  );
}

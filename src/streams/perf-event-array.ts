import type * as native from '../native';
import { decoderFor, type Codec } from '../codec';
import { EbpfError } from '../errors';
import { EventStream, RecordBatch } from './stream';

export interface PerfEventArrayOptions {
  /** Pages per CPU buffer, a power of two (default 64). */
  pageCount?: number;
}

/** One sample of a perf buffer: the CPU it was written on and the decoded data. */
export interface PerfSample<T> {
  cpu: number;
  data: T;
}

/**
 * A `BPF_MAP_TYPE_PERF_EVENT_ARRAY`: one perf buffer per online CPU, merged into one async
 * iterable of `{ cpu, data }`. Samples the kernel could not write (full buffer) are counted in
 * `lost` and reported as `'lost'` events. Raw samples (no codec) include the kernel's padding
 * to 8 bytes.
 *
 * Needs Linux 4.3.
 *
 * ```ts
 * for await (const { cpu, data } of obj.perfEventArray('EVENTS', Event)) console.log(cpu, data);
 * ```
 */
export class PerfEventArray<T = Buffer> extends EventStream<PerfSample<T>> {
  readonly name: string;
  /** The CPUs whose buffers are open. */
  readonly cpus: readonly number[];
  readonly #codec: Codec<T> | undefined;

  /** @internal */
  constructor(reader: native.PerfEventArrayReader, name: string, codec?: Codec<T>) {
    super(reader, `perf event array \`${name}\``);
    this.name = name;
    this.cpus = reader.cpus;
    this.#codec = codec;
  }

  protected decode(batch: RecordBatch): PerfSample<T>[] {
    const out: PerfSample<T>[] = [];
    const codec = this.#codec;
    if (!codec) {
      // Samples that are Buffers must outlive the read buffer: one copy per batch, views into it.
      new RecordBatch(Buffer.from(batch.data), batch.count).forEach((data, start, length, cpu) => {
        out.push({ cpu, data: data.subarray(start, start + length) as T });
      });
      return out;
    }
    const decode = decoderFor(codec, batch.data);
    batch.forEach((_data, start, length, cpu) => {
      if (length < codec.size) {
        throw new EbpfError('INVALID_ARGUMENT', `perf event array \`${this.name}\`: a ${length}-byte sample is smaller than ${codec.name} (${codec.size} bytes)`);
      }
      out.push({ cpu, data: decode(start) });
    });
    return out;
  }
}

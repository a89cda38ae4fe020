// Bloom filters: BPF_MAP_TYPE_BLOOM_FILTER. Values are added; membership answers "maybe" or
// "surely not". Nothing can be removed or listed.

import type * as native from '../native';
import type { Codec } from '../codec';
import { callNative } from '../errors';
import { BpfMap, createHandle, MapType, type CreateOptions } from './map';

/** A `BPF_MAP_TYPE_BLOOM_FILTER`.
 *
 * Needs Linux 5.16.
 *
 * ```ts
 * const seen = BloomFilter.create({ maxEntries: 1024 }, codec.u32);
 * seen.add(7);
 * seen.has(7); // true (or a false positive for others)
 * ```
 */
export class BloomFilter<V> extends BpfMap {
  static override readonly mapTypes: readonly number[] = [MapType.bloom_filter];
  readonly #value: Codec<V>;

  /** @internal */
  constructor(handle: native.MapHandle, value: Codec<V>) {
    super(handle);
    this.#value = value;
    this.checkSize('value', value, handle.valueSize);
  }

  /** `hashFunctions`: 1 to 15 (the kernel's default is 5). */
  static create<V>(options: CreateOptions & { hashFunctions?: number }, value: Codec<V>): BloomFilter<V> {
    const extra = options.hashFunctions === undefined ? {} : { mapExtra: BigInt(options.hashFunctions) };
    return new BloomFilter(createHandle(MapType.bloom_filter, 0, value.size, options, extra), value);
  }

  add(value: V): void {
    const v = this.#value.encode(value);
    callNative(() => this.handle.update(null, v, 0));
  }

  /** False: `value` was surely never added. True: it probably was. */
  has(value: V): boolean {
    const v = this.#value.encode(value);
    return callNative(() => this.handle.bloomContains(v));
  }
}

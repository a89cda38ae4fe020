// Per-CPU maps: BPF_MAP_TYPE_PERCPU_HASH, LRU_PERCPU_HASH, PERCPU_ARRAY. A value is an array
// with one element per possible CPU (index = CPU number).

import * as native from '../native';
import type { Codec } from '../codec';
import { callNative, invalidArgument } from '../errors';
import { indexCodec } from './array';
import { createHandle, KeyedMap, MapType, type CreateOptions } from './map';

/** Number of possible CPUs: the length of every per-CPU value. */
export function possibleCpus(): number {
  return callNative(() => native.possibleCpus());
}

/** One `element` per possible CPU, each in an 8-byte-aligned slot, as the kernel exchanges them. @internal */
export function perCpuCodec<V>(element: Codec<V>, cpus = possibleCpus()): Codec<V[]> {
  const stride = Math.ceil(element.size / 8) * 8;
  return {
    name: `percpu ${element.name}[${cpus}]`,
    size: stride * cpus,
    align: 8,
    decode(buf, offset = 0) {
      const out = new Array<V>(cpus);
      for (let cpu = 0; cpu < cpus; cpu++) out[cpu] = element.decode(buf, offset + cpu * stride);
      return out;
    },
    encodeInto(value, buf, offset) {
      if (!Array.isArray(value) || value.length !== cpus) {
        throw invalidArgument(`per-CPU value: expected an array of ${cpus} values (one per possible CPU)`);
      }
      buf.fill(0, offset, offset + stride * cpus);
      for (let cpu = 0; cpu < cpus; cpu++) element.encodeInto(value[cpu], buf, offset + cpu * stride);
    },
    encode(value) {
      const buf = Buffer.alloc(stride * cpus);
      this.encodeInto(value, buf, 0);
      return buf;
    },
  };
}

function checkElement(handle: native.MapHandle, value: Codec<unknown>): void {
  if (value.size !== handle.valueSize) {
    throw invalidArgument(`map \`${handle.name}\`: value codec ${value.name} is ${value.size} bytes, the map's values are ${handle.valueSize} bytes`);
  }
}

/** A `BPF_MAP_TYPE_PERCPU_HASH`: `get(key)` is one value per possible CPU.
 *
 * Needs Linux 4.6.
 *
 * ```ts
 * const perCpu = obj.map('COUNTS', PerCpuHashMap, codec.u32, codec.u64);
 * console.log(perCpu.get(1)); // one value per possible CPU
 * ```
 */
export class PerCpuHashMap<K, V> extends KeyedMap<K, V[]> {
  static override readonly mapTypes: readonly number[] = [MapType.percpu_hash];

  /** @internal */
  constructor(handle: native.MapHandle, key: Codec<K>, value: Codec<V>) {
    checkElement(handle, value);
    super(handle, key, perCpuCodec(value));
  }

  static create<K, V>(options: CreateOptions, key: Codec<K>, value: Codec<V>): PerCpuHashMap<K, V> {
    return new PerCpuHashMap(createHandle(MapType.percpu_hash, key.size, value.size, options), key, value);
  }
}

/** A `BPF_MAP_TYPE_LRU_PERCPU_HASH`.
 *
 * Needs Linux 4.10.
 *
 * ```ts
 * const perCpu = LruPerCpuHashMap.create({ maxEntries: 64 }, codec.u32, codec.u64);
 * ```
 */
export class LruPerCpuHashMap<K, V> extends KeyedMap<K, V[]> {
  static override readonly mapTypes: readonly number[] = [MapType.lru_percpu_hash];

  /** @internal */
  constructor(handle: native.MapHandle, key: Codec<K>, value: Codec<V>) {
    checkElement(handle, value);
    super(handle, key, perCpuCodec(value));
  }

  static create<K, V>(options: CreateOptions, key: Codec<K>, value: Codec<V>): LruPerCpuHashMap<K, V> {
    return new LruPerCpuHashMap(createHandle(MapType.lru_percpu_hash, key.size, value.size, options), key, value);
  }
}

/** A `BPF_MAP_TYPE_PERCPU_ARRAY`: `get(index)` is one value per possible CPU.
 *
 * Needs Linux 4.6.
 *
 * ```ts
 * const drops = obj.map('DROPS', PerCpuArray, codec.u64);
 * console.log(drops.get(0)?.reduce((a, b) => a + b, 0n));
 * ```
 */
export class PerCpuArray<V> extends KeyedMap<number, V[]> {
  static override readonly mapTypes: readonly number[] = [MapType.percpu_array];

  /** @internal */
  constructor(handle: native.MapHandle, value: Codec<V>) {
    checkElement(handle, value);
    super(handle, indexCodec(handle.maxEntries), perCpuCodec(value));
  }

  static create<V>(options: CreateOptions, value: Codec<V>): PerCpuArray<V> {
    return new PerCpuArray(createHandle(MapType.percpu_array, 4, value.size, options), value);
  }

  get length(): number {
    return this.maxEntries;
  }
}

// Hash maps: BPF_MAP_TYPE_HASH and BPF_MAP_TYPE_LRU_HASH.

import type * as native from '../native';
import type { Codec } from '../codec';
import { createHandle, KeyedMap, MapType, type CreateOptions } from './map';

/**
 * A `BPF_MAP_TYPE_HASH` map with typed keys and values.
 *
 * ```ts
 * const counts = obj.map('COUNTS', HashMap, codec.u32, codec.u64);
 * counts.set(7, 1n, 'only-new');
 * for (const [pid, n] of counts) console.log(pid, n);
 * ```
 *
 * Needs Linux 3.19.
 */
export class HashMap<K, V> extends KeyedMap<K, V> {
  static override readonly mapTypes: readonly number[] = [MapType.hash];

  /** @internal */
  constructor(handle: native.MapHandle, key: Codec<K>, value: Codec<V>) {
    super(handle, key, value);
  }

  /** Creates a new hash map in the kernel (for tests and tools; programs declare theirs). */
  static create<K, V>(options: CreateOptions, key: Codec<K>, value: Codec<V>): HashMap<K, V> {
    return new HashMap(createHandle(MapType.hash, key.size, value.size, options), key, value);
  }
}

/** A `BPF_MAP_TYPE_LRU_HASH` map: when full, an insert evicts the least recently used entry.
 *
 * Needs Linux 4.10.
 *
 * ```ts
 * const recent = LruHashMap.create({ maxEntries: 1024 }, codec.u32, codec.u64);
 * recent.set(1, 10n);
 * ```
 */
export class LruHashMap<K, V> extends KeyedMap<K, V> {
  static override readonly mapTypes: readonly number[] = [MapType.lru_hash];

  /** @internal */
  constructor(handle: native.MapHandle, key: Codec<K>, value: Codec<V>) {
    super(handle, key, value);
  }

  static create<K, V>(options: CreateOptions, key: Codec<K>, value: Codec<V>): LruHashMap<K, V> {
    return new LruHashMap(createHandle(MapType.lru_hash, key.size, value.size, options), key, value);
  }
}

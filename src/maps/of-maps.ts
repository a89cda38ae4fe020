// Maps of maps: BPF_MAP_TYPE_ARRAY_OF_MAPS and BPF_MAP_TYPE_HASH_OF_MAPS. A slot holds another
// map (set with the map, read back as its kernel id).

import type * as native from '../native';
import { u32, type Codec } from '../codec';
import { callNative } from '../errors';
import { indexCodec } from './array';
import { BpfMap, createHandle, MapType, type CreateOptions, type UpdateMode } from './map';
import { SlotMap } from './slot-map';

class MapOfMaps<K> extends SlotMap<K, BpfMap, number> {
  /** Stores `inner` at `key`; it must match the map's inner map template (type, sizes). */
  override set(key: K, inner: BpfMap, mode: UpdateMode = 'any'): this {
    return super.set(key, inner, mode);
  }

  /** @internal */
  protected store(key: Buffer, inner: BpfMap, flag: number): void {
    callNative(() => this.handle.setInnerMap(key, inner.nativeHandle, flag));
  }

  /** The kernel id of the map at a slot. Open it with `BpfMap.fromId(id, SomeMap, ...)`. @internal */
  protected read(stored: Buffer): number {
    return u32.decode(stored);
  }
}

/** A `BPF_MAP_TYPE_ARRAY_OF_MAPS`.
 *
 * Needs Linux 4.12.
 *
 * ```ts
 * const inner = ArrayMap.create({ maxEntries: 4 }, codec.u32);
 * const outer = ArrayOfMaps.create({ maxEntries: 2 }, inner);
 * outer.set(0, inner);
 * ```
 */
export class ArrayOfMaps extends MapOfMaps<number> {
  static override readonly mapTypes: readonly number[] = [MapType.array_of_maps];

  /** @internal */
  constructor(handle: native.MapHandle) {
    super(handle, indexCodec(handle.maxEntries));
  }

  /** Creates one whose inner maps must look like `template` (type, key/value sizes, max entries). */
  static create(options: CreateOptions, template: BpfMap): ArrayOfMaps {
    return new ArrayOfMaps(createHandle(MapType.array_of_maps, 4, 4, options, { inner: template.nativeHandle }));
  }
}

/** A `BPF_MAP_TYPE_HASH_OF_MAPS`.
 *
 * Needs Linux 4.12.
 *
 * ```ts
 * const inner = ArrayMap.create({ maxEntries: 4 }, codec.u32);
 * const outer = HashOfMaps.create({ maxEntries: 2 }, codec.u32, inner);
 * outer.set(7, inner);
 * ```
 */
export class HashOfMaps<K> extends MapOfMaps<K> {
  static override readonly mapTypes: readonly number[] = [MapType.hash_of_maps];

  /** @internal */
  constructor(handle: native.MapHandle, key: Codec<K>) {
    super(handle, key);
  }

  static create<K>(options: CreateOptions, key: Codec<K>, template: BpfMap): HashOfMaps<K> {
    return new HashOfMaps(createHandle(MapType.hash_of_maps, key.size, 4, options, { inner: template.nativeHandle }), key);
  }
}

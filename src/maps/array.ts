// Arrays: BPF_MAP_TYPE_ARRAY. Keys are indexes below max_entries; every slot always exists.

import type * as native from '../native';
import { u32, type Codec } from '../codec';
import { EbpfError, invalidArgument } from '../errors';
import { createHandle, KeyedMap, MapType, type CreateOptions } from './map';

/** A u32 index codec that refuses indexes past the map's end before any syscall. @internal */
export function indexCodec(maxEntries: number): Codec<number> {
  return {
    name: 'u32 index',
    size: 4,
    align: 4,
    decode: (buf, offset = 0) => u32.decode(buf, offset),
    encodeInto(value, buf, offset) {
      if (!Number.isInteger(value) || value < 0 || value >= maxEntries) {
        throw invalidArgument(`index ${value} is out of range: the map has ${maxEntries} entries (max_entries)`);
      }
      u32.encodeInto(value, buf, offset);
    },
    encode(value) {
      const buf = Buffer.alloc(4);
      this.encodeInto(value, buf, 0);
      return buf;
    },
  };
}

/**
 * A `BPF_MAP_TYPE_ARRAY`: `maxEntries` zero-initialised slots. Slots cannot be deleted, so
 * `delete` and `clear` throw `UNSUPPORTED`; `set(i, v, 'only-new')` always fails (`EEXIST`).
 *
 * Needs Linux 3.19.
 *
 * ```ts
 * const slots = obj.map('SLOTS', ArrayMap, codec.u64);
 * slots.set(0, 42n);
 * ```
 */
export class ArrayMap<V> extends KeyedMap<number, V> {
  static override readonly mapTypes: readonly number[] = [MapType.array];

  /** @internal */
  constructor(handle: native.MapHandle, value: Codec<V>) {
    super(handle, indexCodec(handle.maxEntries), value);
  }

  static create<V>(options: CreateOptions, value: Codec<V>): ArrayMap<V> {
    return new ArrayMap(createHandle(MapType.array, 4, value.size, options), value);
  }

  /** The number of slots (`max_entries`). */
  get length(): number {
    return this.maxEntries;
  }

  override delete(_index: number): boolean {
    throw new EbpfError('UNSUPPORTED', `array map \`${this.name}\`: elements cannot be deleted (set a value instead)`);
  }

  override clear(): number {
    throw new EbpfError('UNSUPPORTED', `array map \`${this.name}\`: elements cannot be deleted (set values instead)`);
  }
}

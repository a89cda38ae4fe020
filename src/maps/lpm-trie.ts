// Longest-prefix-match tries: BPF_MAP_TYPE_LPM_TRIE. A key is a prefix length in bits plus the
// data (e.g. an address); a lookup finds the entry with the longest prefix that matches.

import type * as native from '../native';
import type { Codec } from '../codec';
import { invalidArgument } from '../errors';
import { createHandle, KeyedMap, MapType, type CreateOptions } from './map';

export interface LpmKey<K> {
  /** Significant leading bits of `data` (0 to 8 × its size). */
  prefixLen: number;
  data: K;
}

/** `struct { u32 prefixlen; data }` with no padding, as the kernel (and Aya's `Key<K>`) lay it out. @internal */
export function lpmKeyCodec<K>(data: Codec<K>): Codec<LpmKey<K>> {
  const bits = data.size * 8;
  return {
    name: `lpm key { prefixLen: u32, data: ${data.name} }`,
    size: 4 + data.size,
    align: 1,
    decode: (buf, offset = 0) => ({ prefixLen: buf.readUInt32LE(offset), data: data.decode(buf, offset + 4) }),
    encodeInto(value, buf, offset) {
      if (typeof value !== 'object' || value === null) throw invalidArgument('LPM key: expected { prefixLen, data }');
      if (!Number.isInteger(value.prefixLen) || value.prefixLen < 0 || value.prefixLen > bits) {
        throw invalidArgument(`LPM key: prefixLen ${value.prefixLen} is out of range [0, ${bits}]`);
      }
      buf.writeUInt32LE(value.prefixLen, offset);
      data.encodeInto(value.data, buf, offset + 4);
    },
    encode(value) {
      const buf = Buffer.alloc(4 + data.size);
      this.encodeInto(value, buf, 0);
      return buf;
    },
  };
}

/**
 * A `BPF_MAP_TYPE_LPM_TRIE`. `get({ prefixLen: 32, data: addr })` returns the value of the
 * longest stored prefix that contains `addr`. Data is compared in memory (network) order, so
 * use byte arrays (`codec.bytes(4)`, `codec.array(codec.u8, 4)`) for addresses.
 *
 * Needs Linux 4.11.
 *
 * ```ts
 * const routes = obj.map('ROUTES', LpmTrie, codec.bytes(4), codec.u32);
 * routes.set({ prefixLen: 24, data: Buffer.from([10, 0, 0, 0]) }, 1);
 * ```
 */
export class LpmTrie<K, V> extends KeyedMap<LpmKey<K>, V> {
  static override readonly mapTypes: readonly number[] = [MapType.lpm_trie];

  /** @internal */
  constructor(handle: native.MapHandle, data: Codec<K>, value: Codec<V>) {
    super(handle, lpmKeyCodec(data), value);
  }

  /** Creates an LPM trie (`BPF_F_NO_PREALLOC` is required by the kernel and added). */
  static create<K, V>(options: CreateOptions, data: Codec<K>, value: Codec<V>): LpmTrie<K, V> {
    const flags = (options.flags ?? 0) | 1;
    return new LpmTrie(createHandle(MapType.lpm_trie, 4 + data.size, value.size, { ...options, flags }), data, value);
  }
}

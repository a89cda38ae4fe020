// What the maps whose slots hold something other than plain bytes share (program arrays, maps
// of maps, socket maps, XDP redirect maps): a slot is set from an object (a program, a map, a
// socket, an interface) and reads back as what the kernel stores for it (an id, a cookie, an
// index). Subclasses say how a value is stored and read; keys, lookups and deletes are here.

import type * as native from '../native';
import type { Codec } from '../codec';
import { callNative } from '../errors';
import { BpfMap, updateFlag, type UpdateMode } from './map';

/** @internal */
export abstract class SlotMap<K, In, Out> extends BpfMap {
  /** @internal */
  protected readonly keyCodec: Codec<K>;

  /** @internal */
  constructor(handle: native.MapHandle, key: Codec<K>) {
    super(handle);
    this.keyCodec = key;
    this.checkSize('key', key, handle.keySizeBytes);
  }

  /** Writes `value` at the encoded key `key` with the update flag `flag`. @internal */
  protected abstract store(key: Buffer, value: In, flag: number): void;

  /** What a slot's stored bytes read back as. @internal */
  protected abstract read(stored: Buffer): Out;

  /** Stores `value` at `key`. */
  set(key: K, value: In, mode: UpdateMode = 'any'): this {
    const k = this.keyCodec.encode(key);
    this.store(k, value, updateFlag(mode));
    return this;
  }

  /** What the slot at `key` holds, or `undefined` when it is empty. */
  get(key: K): Out | undefined {
    const v = callNative(() => this.handle.lookup(this.keyCodec.encode(key)));
    return v === null ? undefined : this.read(v);
  }

  /** Empties the slot at `key`; false when it was empty. */
  delete(key: K): boolean {
    return callNative(() => this.handle.delete(this.keyCodec.encode(key)));
  }
}

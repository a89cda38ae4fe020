// Socket maps: BPF_MAP_TYPE_SOCKMAP and BPF_MAP_TYPE_SOCKHASH, used by sk_msg / sk_skb programs
// to redirect between sockets. A slot is set with a socket; it reads back as the socket cookie.

import type * as native from '../native';
import type { Codec } from '../codec';
import { socketFd, type SocketLike } from '../socket';
import { indexCodec } from './array';
import { BpfMap, createHandle, MapType, updateFlag, type CreateOptions, type UpdateMode } from './map';
import * as validate from '../validate';

export type { SocketLike } from '../socket';

class SocketMap<K> extends BpfMap {
  /** @internal */
  protected readonly keyCodec: Codec<K>;

  /** @internal */
  constructor(handle: native.MapHandle, key: Codec<K>) {
    super(handle);
    this.keyCodec = key;
    this.checkSize('key', key, handle.keySizeBytes);
  }

  /** Stores `socket` at `key` (TCP sockets established or listening, UDP, Unix). */
  set(key: K, socket: SocketLike, mode: UpdateMode = 'any'): this {
    const k = this.keyCodec.encode(key);
    const fd = socketFd(socket, 'socket map');
    const flag = updateFlag(mode);
    this.handle.setSocket(k, fd, flag);
    return this;
  }

  /** The cookie of the socket at `key` (maps with 8-byte values), or `undefined`. */
  get(key: K): bigint | undefined {
    const v = this.handle.lookup(this.keyCodec.encode(key));
    if (v === null) return undefined;
    return v.length >= 8 ? v.readBigUInt64LE(0) : BigInt(v.readUInt32LE(0));
  }

  delete(key: K): boolean {
    return this.handle.delete(this.keyCodec.encode(key));
  }
}

/** A `BPF_MAP_TYPE_SOCKMAP`: sockets by index. */
export class SockMap extends SocketMap<number> {
  static override readonly mapTypes: readonly number[] = [MapType.sockmap];

  /** @internal */
  constructor(handle: native.MapHandle) {
    super(handle, indexCodec(handle.maxEntries));
  }

  static create(options: CreateOptions): SockMap {
    options = validate.options('options', options);
    return new SockMap(createHandle(MapType.sockmap, 4, 8, options));
  }
}

/** A `BPF_MAP_TYPE_SOCKHASH`: sockets by a key of your choice. */
export class SockHash<K> extends SocketMap<K> {
  static override readonly mapTypes: readonly number[] = [MapType.sockhash];

  /** @internal */
  constructor(handle: native.MapHandle, key: Codec<K>) {
    super(handle, key);
  }

  static create<K>(options: CreateOptions, key: Codec<K>): SockHash<K> {
    options = validate.options('options', options);
    return new SockHash(createHandle(MapType.sockhash, validate.codec('key', key).size, 8, options), key);
  }
}

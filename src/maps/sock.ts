// Socket maps: BPF_MAP_TYPE_SOCKMAP and BPF_MAP_TYPE_SOCKHASH, used by sk_msg / sk_skb programs
// to redirect between sockets. A slot is set with a socket; it reads back as the socket cookie.

import type * as native from '../native';
import type { Codec } from '../codec';
import { callNative } from '../errors';
import { socketFd, type SocketLike } from '../socket';
import { indexCodec } from './array';
import { createHandle, MapType, type CreateOptions, type UpdateMode } from './map';
import { SlotMap } from './slot-map';

export type { SocketLike } from '../socket';

class SocketMap<K> extends SlotMap<K, SocketLike, bigint> {
  /** Stores `socket` at `key` (TCP sockets established or listening, UDP, Unix). */
  override set(key: K, socket: SocketLike, mode: UpdateMode = 'any'): this {
    return super.set(key, socket, mode);
  }

  /** @internal */
  protected store(key: Buffer, socket: SocketLike, flag: number): void {
    const fd = socketFd(socket, 'socket map');
    callNative(() => this.handle.setSocket(key, fd, flag));
  }

  /** The cookie of the socket at a slot (maps with 8-byte values). @internal */
  protected read(stored: Buffer): bigint {
    return stored.length >= 8 ? stored.readBigUInt64LE(0) : BigInt(stored.readUInt32LE(0));
  }
}

/** A `BPF_MAP_TYPE_SOCKMAP`: sockets by index.
 *
 * Needs Linux 4.14.
 *
 * ```ts
 * const socks = SockMap.create({ maxEntries: 8 });
 * socks.set(0, socket);
 * ```
 */
export class SockMap extends SocketMap<number> {
  static override readonly mapTypes: readonly number[] = [MapType.sockmap];

  /** @internal */
  constructor(handle: native.MapHandle) {
    super(handle, indexCodec(handle.maxEntries));
  }

  static create(options: CreateOptions): SockMap {
    return new SockMap(createHandle(MapType.sockmap, 4, 8, options));
  }
}

/** A `BPF_MAP_TYPE_SOCKHASH`: sockets by a key of your choice.
 *
 * Needs Linux 4.18.
 *
 * ```ts
 * const socks = SockHash.create({ maxEntries: 8 }, codec.u32);
 * socks.set(9000, socket);
 * ```
 */
export class SockHash<K> extends SocketMap<K> {
  static override readonly mapTypes: readonly number[] = [MapType.sockhash];

  /** @internal */
  constructor(handle: native.MapHandle, key: Codec<K>) {
    super(handle, key);
  }

  static create<K>(options: CreateOptions, key: Codec<K>): SockHash<K> {
    return new SockHash(createHandle(MapType.sockhash, key.size, 8, options), key);
  }
}

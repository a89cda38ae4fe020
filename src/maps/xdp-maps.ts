// XDP redirect maps: BPF_MAP_TYPE_DEVMAP / DEVMAP_HASH (interfaces), CPUMAP (CPUs) and XSKMAP
// (AF_XDP sockets). Basic support: set, get, delete of the plain entries.

import type * as native from '../native';
import { u32, type Codec } from '../codec';
import { callNative, invalidArgument } from '../errors';
import { indexCodec } from './array';
import { BpfMap, createHandle, MapType, updateFlag, type CreateOptions, type UpdateMode } from './map';
import { socketFd, type SocketLike } from '../socket';
import { SlotMap } from './slot-map';

class InterfaceMap<K> extends SlotMap<K, number, number> {
  /** Redirects to interface `ifindex` at `key`. */
  override set(key: K, ifindex: number, mode: UpdateMode = 'any'): this {
    return super.set(key, ifindex, mode);
  }

  /** @internal */
  protected store(key: Buffer, ifindex: number, flag: number): void {
    // The value is `struct bpf_devmap_val { u32 ifindex; ... }` or a bare u32.
    const v = Buffer.alloc(this.valueSize);
    u32.encodeInto(ifindex, v, 0);
    callNative(() => this.handle.update(key, v, flag));
  }

  /** The interface index at a slot. @internal */
  protected read(stored: Buffer): number {
    return stored.readUInt32LE(0);
  }
}

/** A `BPF_MAP_TYPE_DEVMAP`: interfaces by index, for `bpf_redirect_map`.
 *
 * Needs Linux 4.14.
 *
 * ```ts
 * const ports = DevMap.create({ maxEntries: 4 });
 * ports.set(0, 2); // slot 0 -> ifindex 2
 * ```
 */
export class DevMap extends InterfaceMap<number> {
  static override readonly mapTypes: readonly number[] = [MapType.devmap];

  /** @internal */
  constructor(handle: native.MapHandle) {
    super(handle, indexCodec(handle.maxEntries));
  }

  static create(options: CreateOptions): DevMap {
    return new DevMap(createHandle(MapType.devmap, 4, 4, options));
  }
}

/** A `BPF_MAP_TYPE_DEVMAP_HASH`: interfaces by a key of your choice.
 *
 * Needs Linux 5.4.
 *
 * ```ts
 * const ports = DevMapHash.create({ maxEntries: 4 }, codec.u32);
 * ports.set(7, 2);
 * ```
 */
export class DevMapHash<K> extends InterfaceMap<K> {
  static override readonly mapTypes: readonly number[] = [MapType.devmap_hash];

  /** @internal */
  constructor(handle: native.MapHandle, key: Codec<K>) {
    super(handle, key);
  }

  static create<K>(options: CreateOptions, key: Codec<K>): DevMapHash<K> {
    return new DevMapHash(createHandle(MapType.devmap_hash, key.size, 4, options), key);
  }
}

/** A `BPF_MAP_TYPE_CPUMAP`: per target CPU, the size of the queue packets are redirected into.
 *
 * Needs Linux 4.15.
 *
 * ```ts
 * const cpus = CpuMap.create({ maxEntries: 2 });
 * ```
 */
export class CpuMap extends BpfMap {
  static override readonly mapTypes: readonly number[] = [MapType.cpumap];
  readonly #index;

  /** @internal */
  constructor(handle: native.MapHandle) {
    super(handle);
    this.#index = indexCodec(handle.maxEntries);
  }

  /** Value `struct bpf_cpumap_val { u32 qsize; u32 prog_fd; }`. */
  static create(options: CreateOptions): CpuMap {
    return new CpuMap(createHandle(MapType.cpumap, 4, 8, options));
  }

  /** Enables redirects to `cpu` with a queue of `qsize` packets. */
  set(cpu: number, options: { qsize: number }, mode: UpdateMode = 'any'): this {
    const k = this.#index.encode(cpu);
    if (!Number.isInteger(options?.qsize) || options.qsize < 1) throw invalidArgument(`qsize must be a positive integer, got ${options?.qsize}`);
    const flag = updateFlag(mode);
    const v = Buffer.alloc(this.valueSize);
    u32.encodeInto(options.qsize, v, 0);
    callNative(() => this.handle.update(k, v, flag));
    return this;
  }

  /** The queue size for `cpu`, or `undefined` when redirects to it are off. */
  get(cpu: number): { qsize: number } | undefined {
    const v = callNative(() => this.handle.lookup(this.#index.encode(cpu)));
    return v === null ? undefined : { qsize: v.readUInt32LE(0) };
  }

  delete(cpu: number): boolean {
    return callNative(() => this.handle.delete(this.#index.encode(cpu)));
  }
}

/** A `BPF_MAP_TYPE_XSKMAP`: AF_XDP sockets by receive-queue index.
 *
 * Needs Linux 4.18.
 *
 * ```ts
 * const xsks = obj.map('XSKS', XskMap);
 * ```
 */
export class XskMap extends BpfMap {
  static override readonly mapTypes: readonly number[] = [MapType.xskmap];
  readonly #index;

  /** @internal */
  constructor(handle: native.MapHandle) {
    super(handle);
    this.#index = indexCodec(handle.maxEntries);
  }

  static create(options: CreateOptions): XskMap {
    return new XskMap(createHandle(MapType.xskmap, 4, 4, options));
  }

  /** Stores the AF_XDP socket `socket` (bound to a queue) at `index`. */
  set(index: number, socket: SocketLike, mode: UpdateMode = 'any'): this {
    const k = this.#index.encode(index);
    const fd = socketFd(socket, 'XSK map');
    const flag = updateFlag(mode);
    callNative(() => this.handle.setSocket(k, fd, flag));
    return this;
  }

  delete(index: number): boolean {
    return callNative(() => this.handle.delete(this.#index.encode(index)));
  }
}

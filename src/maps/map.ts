// The base of every typed map: an owned handle (fd) on a kernel map, checked against the
// class's map types and its codecs' sizes when it is opened, plus the key/value map surface
// shared by hash maps, arrays, per-CPU maps and LPM tries.

import * as native from '../native';
import type { Codec } from '../codec';
import { callNative, EbpfError, invalidArgument } from '../errors';
import { mapTypeName } from '../kinds';

/**
 * Kernel map type numbers (`enum bpf_map_type`) of the map types that have a class here, by
 * their kernel names: a typed view of the one table in `kinds.ts` (a test checks they agree).
 */
export const MapType = {
  hash: 1,
  array: 2,
  prog_array: 3,
  perf_event_array: 4,
  percpu_hash: 5,
  percpu_array: 6,
  stack_trace: 7,
  cgroup_array: 8,
  lru_hash: 9,
  lru_percpu_hash: 10,
  lpm_trie: 11,
  array_of_maps: 12,
  hash_of_maps: 13,
  devmap: 14,
  sockmap: 15,
  cpumap: 16,
  xskmap: 17,
  sockhash: 18,
  queue: 22,
  stack: 23,
  devmap_hash: 25,
  ringbuf: 27,
  bloom_filter: 30,
} as const;


/** How `set` treats an existing (or missing) key. */
export type UpdateMode = 'any' | 'only-new' | 'only-existing';

/** `BPF_ANY`, `BPF_NOEXIST`, `BPF_EXIST`. */
export function updateFlag(mode: UpdateMode): number {
  switch (mode) {
    case 'any':
      return 0;
    case 'only-new':
      return 1;
    case 'only-existing':
      return 2;
    default:
      throw invalidArgument(`unknown update mode ${JSON.stringify(mode)} (any, only-new, only-existing)`);
  }
}

/**
 * A map class as `Ebpf.map()`, `fromPin()` and `fromId()` take it. (A bare constructor type,
 * so TypeScript infers a generic class's type arguments from the codecs passed along.)
 */
export type MapClass<M, A extends unknown[]> = new (handle: native.MapHandle, ...args: A) => M;

/** Options of the `create()` factories, for maps made from TypeScript (tests, tools). */
export interface CreateOptions {
  maxEntries: number;
  /** `BPF_F_*` map flags. */
  flags?: number;
  /** Up to 15 characters of [A-Za-z0-9_.]. */
  name?: string;
}

/** Creates a kernel map; used by the classes' `create()` factories. @internal */
export function createHandle(
  mapType: number,
  keySize: number,
  valueSize: number,
  options: CreateOptions,
  extra: { inner?: native.MapHandle; mapExtra?: bigint } = {},
): native.MapHandle {
  if (!Number.isInteger(options?.maxEntries) || options.maxEntries < 1) {
    throw invalidArgument(`maxEntries must be a positive integer, got ${options?.maxEntries}`);
  }
  const nativeOptions: native.CreateMapOptions = {
    mapType,
    keySize,
    valueSize,
    maxEntries: options.maxEntries,
    flags: options.flags,
    name: options.name,
    mapExtra: extra.mapExtra,
  };
  return callNative(() =>
    extra.inner
      ? native.MapHandle.createMapOfMaps(nativeOptions, extra.inner)
      : native.MapHandle.create(nativeOptions),
  );
}

/** Builds a map class instance on a handle, closing the handle if the class rejects it. @internal */
export function openWith<M, A extends unknown[]>(type: MapClass<M, A>, handle: native.MapHandle, args: A): M {
  try {
    return new type(handle, ...args);
  } catch (err) {
    handle.close();
    throw err;
  }
}

/** Any kernel map. Subclasses add the operations their map type allows.
 *
 * Needs Linux 3.19 (what each map type needs is on its class).
 *
 * ```ts
 * using map = obj.map('COUNTS', BpfMap);
 * console.log(map.id, map.name);
 * ```
 */
export class BpfMap implements Disposable {
  static readonly mapTypes: readonly number[] = [];
  /** @internal */
  protected readonly handle: native.MapHandle;

  /** @internal Use `Ebpf.map()`, `fromPin()`, `fromId()` or the class's `create()`. */
  constructor(handle: native.MapHandle) {
    this.handle = handle;
    const accepted = (new.target as unknown as { mapTypes: readonly number[] }).mapTypes;
    if (accepted.length > 0 && !accepted.includes(handle.mapType)) {
      const want = accepted.map(mapTypeName).join(' or ');
      throw new EbpfError(
        'WRONG_TYPE',
        `map \`${handle.name}\` is a ${mapTypeName(handle.mapType)} map, not ${want} (${new.target.name})`,
      );
    }
  }

  /**
   * Opens a map pinned in bpffs as `type`: `BpfMap.fromPin('/sys/fs/bpf/counts', HashMap, u32, u64)`.
   */
  static fromPin<M, A extends unknown[]>(path: string, type: MapClass<M, A>, ...args: A): M {
    return openWith(type, callNative(() => native.MapHandle.openPinned(path)), args);
  }

  /** Opens a map by its kernel id as `type`: `BpfMap.fromId(id, ArrayMap, u64)`. */
  static fromId<M, A extends unknown[]>(id: number, type: MapClass<M, A>, ...args: A): M {
    return openWith(type, callNative(() => native.MapHandle.openById(id)), args);
  }

  /** The kernel's id for the map. */
  get id(): number {
    return this.handle.id;
  }
  /** The map's name in the kernel (up to 15 characters). */
  get name(): string {
    return this.handle.name;
  }
  get mapType(): number {
    return this.handle.mapType;
  }
  get maxEntries(): number {
    return this.handle.maxEntries;
  }
  get keySize(): number {
    return this.handle.keySizeBytes;
  }
  /** The value size the map was created with (one CPU's for per-CPU maps). */
  get valueSize(): number {
    return this.handle.valueSize;
  }
  get closed(): boolean {
    return this.handle.closed;
  }

  /** Pins the map in bpffs, so it outlives this process. */
  pin(path: string): void {
    callNative(() => this.handle.pin(path));
  }

  /** Closes this handle's fd. The map itself lives while a program or another fd uses it. */
  close(): void {
    this.handle.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** The native handle. @internal */
  get nativeHandle(): native.MapHandle {
    return this.handle;
  }

  protected checkSize(what: string, codec: Codec<unknown>, size: number): void {
    if (codec.size !== size) {
      throw invalidArgument(`map \`${this.name}\`: ${what} codec ${codec.name} is ${codec.size} bytes, the map's ${what}s are ${size} bytes`);
    }
  }
}

export interface EntriesOptions {
  /** Entries fetched per batch syscall (default 4096). */
  batchSize?: number;
}

/**
 * A map of keys to values: hash maps, arrays, per-CPU maps, LPM tries. Keys and values are
 * encoded with codecs; a value that does not fit its codec throws `INVALID_ARGUMENT` before
 * any syscall. Iteration reads the map in batches (one syscall per `batchSize` entries).
 *
 * Needs Linux 3.19.
 *
 * ```ts
 * const counts = obj.map('COUNTS', HashMap, codec.u32, codec.u64);
 * for (const [pid, n] of counts) console.log(pid, n);
 * ```
 */
export class KeyedMap<K, V> extends BpfMap implements Iterable<[K, V]> {
  /** @internal */
  protected readonly keyCodec: Codec<K>;
  /** @internal */
  protected readonly valueCodec: Codec<V>;
  // Scratch buffers for single-element calls: the native side borrows them for the call only.
  readonly #key: Buffer;
  readonly #value: Buffer;

  /** @internal */
  constructor(handle: native.MapHandle, key: Codec<K>, value: Codec<V>) {
    super(handle);
    if (!key || !value) throw invalidArgument(`map \`${handle.name}\`: key and value codecs are required`);
    this.keyCodec = key;
    this.valueCodec = value;
    this.checkSize('key', key, handle.keySizeBytes);
    this.checkSize('value', value, handle.userValueSize);
    this.#key = Buffer.alloc(key.size);
    this.#value = Buffer.alloc(value.size);
  }

  /** The value at `key`, or `undefined`. */
  get(key: K): V | undefined {
    this.keyCodec.encodeInto(key, this.#key, 0);
    const found = callNative(() => this.handle.lookupInto(this.#key, this.#value));
    return found ? this.valueCodec.decode(this.#value) : undefined;
  }

  /**
   * Writes `value` at `key`. `only-new` fails with `EEXIST` if the key exists, `only-existing`
   * with `ENOENT` if it does not; a full map fails with `E2BIG`.
   */
  set(key: K, value: V, mode: UpdateMode = 'any'): this {
    const flag = updateFlag(mode);
    this.keyCodec.encodeInto(key, this.#key, 0);
    this.valueCodec.encodeInto(value, this.#value, 0);
    callNative(() => this.handle.updateFrom(this.#key, this.#value, flag));
    return this;
  }

  /** Removes `key`; false when it was not there. */
  delete(key: K): boolean {
    const k = this.keyCodec.encode(key);
    return callNative(() => this.handle.delete(k));
  }

  has(key: K): boolean {
    return this.get(key) !== undefined;
  }

  /**
   * Every entry, read in batches (`BPF_MAP_LOOKUP_BATCH`, or per element where the kernel has
   * no batch command for the map). Entries deleted meanwhile are skipped; none repeats.
   */
  *entries(options: EntriesOptions = {}): Generator<[K, V], void, undefined> {
    for (const chunk of this.chunks(options, false)) yield* chunk;
  }

  *keys(options: EntriesOptions = {}): Generator<K, void, undefined> {
    for (const [k] of this.entries(options)) yield k;
  }

  *values(options: EntriesOptions = {}): Generator<V, void, undefined> {
    for (const [, v] of this.entries(options)) yield v;
  }

  [Symbol.iterator](): Iterator<[K, V]> {
    return this.entries();
  }

  /** Removes every entry and returns them (read and deleted in batches). */
  drain(options: EntriesOptions = {}): Array<[K, V]> {
    const out: Array<[K, V]> = [];
    for (const chunk of this.chunks(options, true)) out.push(...chunk);
    return out;
  }

  /** Removes every entry; returns how many there were. */
  clear(): number {
    return callNative(() => this.handle.clear());
  }

  /** The number of entries (counted by reading the map in batches). */
  get size(): number {
    return callNative(() => this.handle.count());
  }

  /** Writes many entries in one `BPF_MAP_UPDATE_BATCH`; returns how many were written. */
  setMany(entries: Iterable<readonly [K, V]>, mode: UpdateMode = 'any'): number {
    const flag = updateFlag(mode);
    const list = [...entries];
    const keys = Buffer.alloc(list.length * this.keyCodec.size);
    const values = Buffer.alloc(list.length * this.valueCodec.size);
    list.forEach(([k, v], i) => {
      this.keyCodec.encodeInto(k, keys, i * this.keyCodec.size);
      this.valueCodec.encodeInto(v, values, i * this.valueCodec.size);
    });
    return callNative(() => this.handle.updateBatch(keys, values, flag));
  }

  /** Deletes many keys in one `BPF_MAP_DELETE_BATCH`; returns how many existed. */
  deleteMany(keys: Iterable<K>): number {
    const list = [...keys];
    const buf = Buffer.alloc(list.length * this.keyCodec.size);
    list.forEach((k, i) => this.keyCodec.encodeInto(k, buf, i * this.keyCodec.size));
    return callNative(() => this.handle.deleteBatch(buf));
  }

  private *chunks(options: EntriesOptions, andDelete: boolean): Generator<Array<[K, V]>, void, undefined> {
    const batchSize = options.batchSize ?? 4096;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw invalidArgument(`batchSize must be a positive integer, got ${batchSize}`);
    let token: Buffer | null = null;
    for (;;) {
      const chunk: native.BatchChunk = callNative(() => this.handle.lookupBatch(token, batchSize, andDelete));
      const out = new Array<[K, V]>(chunk.count);
      const ks = this.keyCodec.size;
      const vs = this.valueCodec.size;
      for (let i = 0; i < chunk.count; i++) {
        out[i] = [this.keyCodec.decode(chunk.keys, i * ks), this.valueCodec.decode(chunk.values, i * vs)];
      }
      yield out;
      if (chunk.next === null || chunk.next === undefined || !chunk.batched) return;
      token = chunk.next;
    }
  }
}

// Queues (FIFO) and stacks (LIFO): BPF_MAP_TYPE_QUEUE and BPF_MAP_TYPE_STACK. No keys: values
// are pushed, popped and peeked.

import type * as native from '../native';
import type { Codec } from '../codec';
import { callNative } from '../errors';
import { BpfMap, createHandle, MapType, type CreateOptions } from './map';

abstract class ValueContainer<V> extends BpfMap {
  /** @internal */
  protected readonly valueCodec: Codec<V>;

  /** @internal */
  constructor(handle: native.MapHandle, value: Codec<V>) {
    super(handle);
    this.valueCodec = value;
    this.checkSize('value', value, handle.valueSize);
  }

  /**
   * Adds `value`. When full it fails with `E2BIG`, unless `overwrite` is set: then the oldest
   * (queue) or bottom (stack) element makes room.
   */
  push(value: V, options: { overwrite?: boolean } = {}): void {
    const v = this.valueCodec.encode(value);
    callNative(() => this.handle.update(null, v, options.overwrite ? 2 : 0));
  }

  /** Removes and returns the next element, or `undefined` when empty. */
  pop(): V | undefined {
    const v = callNative(() => this.handle.lookupAndDelete(null));
    return v === null ? undefined : this.valueCodec.decode(v);
  }

  /** The next element without removing it, or `undefined` when empty. */
  peek(): V | undefined {
    const v = callNative(() => this.handle.lookup(null));
    return v === null ? undefined : this.valueCodec.decode(v);
  }

  /** Pops until empty. */
  *drain(): Generator<V, void, undefined> {
    for (let v = this.pop(); v !== undefined; v = this.pop()) yield v;
  }
}

/** A `BPF_MAP_TYPE_QUEUE`: first in, first out.
 *
 * Needs Linux 4.20.
 *
 * ```ts
 * const q = Queue.create({ maxEntries: 16 }, codec.u32);
 * q.push(1);
 * q.pop(); // 1
 * ```
 */
export class Queue<V> extends ValueContainer<V> {
  static override readonly mapTypes: readonly number[] = [MapType.queue];

  /** @internal */
  constructor(handle: native.MapHandle, value: Codec<V>) {
    super(handle, value);
  }

  static create<V>(options: CreateOptions, value: Codec<V>): Queue<V> {
    return new Queue(createHandle(MapType.queue, 0, value.size, options), value);
  }
}

/** A `BPF_MAP_TYPE_STACK`: last in, first out.
 *
 * Needs Linux 4.20.
 *
 * ```ts
 * const s = Stack.create({ maxEntries: 16 }, codec.u32);
 * s.push(1);
 * s.pop(); // 1
 * ```
 */
export class Stack<V> extends ValueContainer<V> {
  static override readonly mapTypes: readonly number[] = [MapType.stack];

  /** @internal */
  constructor(handle: native.MapHandle, value: Codec<V>) {
    super(handle, value);
  }

  static create<V>(options: CreateOptions, value: Codec<V>): Stack<V> {
    return new Stack(createHandle(MapType.stack, 0, value.size, options), value);
  }
}

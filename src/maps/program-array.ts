// Program arrays: BPF_MAP_TYPE_PROG_ARRAY, the jump tables for tail calls.

import type * as native from '../native';
import type { Program } from '../programs/program';
import { indexCodec } from './array';
import { BpfMap, MapType, updateFlag, type UpdateMode } from './map';

/**
 * A `BPF_MAP_TYPE_PROG_ARRAY`. `set(i, program)` makes `bpf_tail_call(ctx, &map, i)` jump to
 * `program` (loaded first if needed; it must be of the caller's program type).
 */
export class ProgramArray extends BpfMap {
  static override readonly mapTypes: readonly number[] = [MapType.prog_array];
  readonly #index;

  /** @internal */
  constructor(handle: native.MapHandle) {
    super(handle);
    this.#index = indexCodec(handle.maxEntries);
  }

  set(index: number, program: Program, mode: UpdateMode = 'any'): this {
    this.#index.encode(index);
    const flag = updateFlag(mode);
    program.nativeObject.setProgramArrayEntry(this.handle, index, program.name, flag);
    return this;
  }

  /** The kernel id of the program at `index`, or `undefined` if the slot is empty. */
  get(index: number): number | undefined {
    const v = this.handle.lookup(this.#index.encode(index));
    return v === null ? undefined : v.readUInt32LE(0);
  }

  /** Empties slot `index`; tail calls to it then fall through. */
  delete(index: number): boolean {
    return this.handle.delete(this.#index.encode(index));
  }
}

// Program arrays: BPF_MAP_TYPE_PROG_ARRAY, the jump tables for tail calls.

import type * as native from '../native';
import { callNative } from '../errors';
import type { Program } from '../programs/program';
import { indexCodec } from './array';
import { MapType } from './map';
import { SlotMap } from './slot-map';

/**
 * A `BPF_MAP_TYPE_PROG_ARRAY`. `set(i, program)` makes `bpf_tail_call(ctx, &map, i)` jump to
 * `program` (loaded first if needed; it must be of the caller's program type).
 *
 * Needs Linux 4.2.
 *
 * ```ts
 * const jumps = obj.map('JUMP_TABLE', ProgramArray);
 * jumps.set(0, obj.program('handler'));
 * ```
 */
export class ProgramArray extends SlotMap<number, Program, number> {
  static override readonly mapTypes: readonly number[] = [MapType.prog_array];

  /** @internal */
  constructor(handle: native.MapHandle) {
    super(handle, indexCodec(handle.maxEntries));
  }

  /** @internal */
  protected store(key: Buffer, program: Program, flag: number): void {
    const index = key.readUInt32LE(0);
    callNative(() => program.nativeObject.setProgramArrayEntry(this.handle, index, program.name, flag));
  }

  /** The kernel id of the program at a slot (`get`); `delete` empties a slot, and tail calls to it then fall through. @internal */
  protected read(stored: Buffer): number {
    return stored.readUInt32LE(0);
  }
}

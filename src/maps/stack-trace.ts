// Stack trace maps: BPF_MAP_TYPE_STACK_TRACE. Programs store stacks with bpf_get_stackid() and
// pass the id along; user space reads the addresses and resolves kernel ones via /proc/kallsyms.

import * as native from '../native';
import { callNative, invalidArgument } from '../errors';
import { BpfMap, MapType } from './map';

export interface StackFrame {
  /** The instruction pointer. */
  address: bigint;
  /** The kernel symbol containing it (`undefined` for user-space addresses or unknown ones). */
  symbol?: string;
  /** `address - start of symbol`. */
  offset?: bigint;
  /** The module holding the symbol; `undefined` for the kernel image. */
  module?: string;
}

/** Resolves kernel addresses with /proc/kallsyms (`reload` rereads it, e.g. after a module load). */
export function resolveKernelAddresses(addresses: bigint[], reload = false): Array<native.KernelSymbol | null | undefined> {
  return callNative(() => native.resolveKernelAddresses(addresses, reload));
}

/** A `BPF_MAP_TYPE_STACK_TRACE`: stack id → instruction pointers (innermost first).
 *
 * Needs Linux 4.6.
 *
 * ```ts
 * const stacks = obj.map('STACKS', StackTraceMap);
 * console.log(stacks.resolve(stackId));
 * ```
 */
export class StackTraceMap extends BpfMap {
  static override readonly mapTypes: readonly number[] = [MapType.stack_trace];

  /** @internal */
  constructor(handle: native.MapHandle) {
    super(handle);
  }

  /** The addresses of stack `id` (as a program got it from `bpf_get_stackid`), or `undefined`. */
  get(id: number): bigint[] | undefined {
    if (!Number.isInteger(id) || id < 0) throw invalidArgument(`stack id must be a non-negative integer, got ${id}`);
    return callNative(() => this.handle.stackTrace(id)) ?? undefined;
  }

  /** Stack `id` with each kernel address resolved to its symbol. */
  resolve(id: number): StackFrame[] | undefined {
    const addresses = this.get(id);
    if (!addresses) return undefined;
    const symbols = resolveKernelAddresses(addresses);
    return addresses.map((address, i) => {
      const sym = symbols[i];
      return sym ? { address, symbol: sym.name, offset: sym.offset, module: sym.module ?? undefined } : { address };
    });
  }

  delete(id: number): boolean {
    const key = Buffer.alloc(4);
    key.writeUInt32LE(id);
    return callNative(() => this.handle.delete(key));
  }

  /** The ids of the stored stacks. */
  *ids(): Generator<number, void, undefined> {
    let key: Buffer | null = null;
    for (;;) {
      const next: Buffer | null = callNative(() => this.handle.nextKey(key));
      if (next === null) return;
      yield next.readUInt32LE(0);
      key = next;
    }
  }
}

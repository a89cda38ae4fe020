import { Program } from './program';

/**
 * A `SEC("syscall")` program (BPF_PROG_TYPE_SYSCALL) from a C object: it runs when user space
 * asks, through {@link Program.testRun} with a context buffer that the program reads and may
 * write (the result's `ctx`). It can call `bpf_sys_bpf` to create maps and load programs.
 * Such programs may not call other functions of the object (aya-node does not link them).
 *
 * ```ts
 * const ctx = Buffer.alloc(24); ctx.writeBigUInt64LE(2n, 0); ctx.writeBigUInt64LE(3n, 8);
 * const { returnValue, ctx: out } = obj.program('add', Syscall).testRun({ ctx });
 * ```
 */
export class Syscall extends Program {
  static override readonly kind = 'syscall';
}

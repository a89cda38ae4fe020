import { Program } from './program';

/**
 * A `SEC("struct_ops/...")` program from a C object (e.g. a TCP congestion control's
 * callbacks). `load()` loads it for the kernel struct member it implements, found as libbpf
 * finds it (the `.struct_ops` variable whose member points to it); one no variable points to
 * throws `EbpfError('UNSUPPORTED')`. The kernel calls the programs once the `.struct_ops`
 * variable is registered: `obj.structOps(name).register()` (see `StructOpsMap`), which loads
 * them itself.
 */
export class StructOps extends Program {
  static override readonly kind = 'struct_ops';
}

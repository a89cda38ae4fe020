import { Program } from './program';

/**
 * A `SEC("struct_ops/...")` program from a C object (e.g. a TCP congestion control's
 * callbacks). `load()` loads it for the kernel struct member it implements, found as libbpf
 * finds it (the `.struct_ops` variable whose member points to it); one no variable points to
 * throws `EbpfError('UNSUPPORTED')`. Registering the `.struct_ops` map, which makes the kernel
 * call the programs, is not supported (Aya 0.14 has no struct_ops maps).
 */
export class StructOps extends Program {
  static override readonly kind = 'struct_ops';
}

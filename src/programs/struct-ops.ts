import { Program } from './program';

/**
 * A `SEC("struct_ops/...")` program from a C object (e.g. a TCP congestion control). The
 * object loads and lists it, but aya-node cannot load it: `load()` throws
 * `EbpfError('UNSUPPORTED')` (Aya 0.14 has no struct_ops support).
 */
export class StructOps extends Program {
  static override readonly kind = 'struct_ops';
}

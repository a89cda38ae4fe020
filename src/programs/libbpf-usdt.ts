import { ebpfError } from '../errors';
import type { Link } from '../link';
import { Program } from './program';

/**
 * A `SEC("usdt")` program from a C object, written with libbpf's `usdt.bpf.h`. It loads (a
 * uprobe-type program with libbpf's USDT spec maps), but attaching it is not supported: it
 * reads its arguments through libbpf's spec maps, which only libbpf's loader fills.
 * aya-node's own USDT programs attach with `Usdt`.
 */
export class LibbpfUsdt extends Program {
  static override readonly kind = 'usdt';

  /** Always throws `EbpfError('UNSUPPORTED')`: see the class description. */
  attach(): Link {
    throw ebpfError(
      'UNSUPPORTED',
      `program \`${this.name}\` (section ${this.section ?? 'usdt'}) is a libbpf USDT program: attaching it needs libbpf's USDT spec maps filled, which aya-node does not do`,
    );
  }
}

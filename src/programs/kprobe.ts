import * as native from '../native';
import type { Link } from '../link';
import { Program } from './program';

/**
 * A kprobe or kretprobe program (`#[kprobe]`/`#[kretprobe]` in aya-ebpf): runs at the entry (or
 * return) of almost any kernel function. Needs a kernel built with CONFIG_KPROBES; elsewhere
 * `attach` throws `EbpfError('UNSUPPORTED')` with the reason (see {@link KProbe.unsupportedReason}).
 *
 * Needs Linux 4.1, built with CONFIG_KPROBES.
 *
 * ```ts
 * if (!KProbe.unsupportedReason()) obj.program('on_openat2', KProbe).attach('do_sys_openat2');
 * ```
 */
export class KProbe extends Program {
  static override readonly kind = 'kprobe';

  /** Why this kernel cannot attach kprobes, or `undefined` when it can. */
  static unsupportedReason(): string | undefined {
    return native.EbpfObject.kprobesUnsupportedReason() ?? undefined;
  }

  /** Attaches to the kernel function `fn`, `offset` bytes into it (kprobes only). */
  attach(fn: string, offset = 0): Link {
    const target = offset ? `kernel function ${fn}+${offset}` : `kernel function ${fn}`;
    return this.attachWith(target, (object) => object.attachKprobe(this.name, fn, offset));
  }
}

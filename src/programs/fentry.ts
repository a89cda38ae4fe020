import type { Link } from '../link';
import { BtfTargetProgram } from './btf-target';

/**
 * An fentry program (`#[fentry]` in aya-ebpf): runs when a kernel function is entered, with its
 * typed arguments, through a BPF trampoline (no kprobes needed). Loaded for one function.
 *
 * Needs Linux 5.5 (BPF trampolines), with kernel BTF.
 *
 * ```ts
 * using link = obj.program('enter_openat2', FEntry).attach('do_sys_openat2');
 * ```
 */
export class FEntry extends BtfTargetProgram {
  static override readonly kind = 'fentry';

  /** Attaches at the entry of the kernel function `fn`, e.g. `'do_sys_openat2'`. */
  attach(fn: string): Link {
    return this.attachToTarget(fn, 'kernel function', (object) => object.attachFentry(this.name, fn));
  }
}

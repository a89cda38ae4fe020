import type { Link } from '../link';
import { BtfTargetProgram } from './btf-target';

/**
 * An fexit program (`#[fexit]` in aya-ebpf): runs when a kernel function returns, with its
 * arguments and its return value. Loaded for one function.
 *
 * Needs Linux 5.5 (BPF trampolines), with kernel BTF.
 *
 * ```ts
 * using link = obj.program('exit_openat2', FExit).attach('do_sys_openat2');
 * ```
 */
export class FExit extends BtfTargetProgram {
  static override readonly kind = 'fexit';

  /** Attaches at the return of the kernel function `fn`, e.g. `'do_sys_openat2'`. */
  attach(fn: string): Link {
    return this.attachToTarget(fn, 'kernel function', (object) => object.attachFexit(this.name, fn));
  }
}

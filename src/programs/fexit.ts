import type { Link } from '../link';
import { BtfTargetProgram } from './btf-target';
import * as validate from '../validate';

/**
 * An fexit program (`#[fexit]` in aya-ebpf): runs when a kernel function returns, with its
 * arguments and its return value. Loaded for one function.
 */
export class FExit extends BtfTargetProgram {
  static override readonly kind = 'fexit';

  /** Attaches at the return of the kernel function `fn`, e.g. `'do_sys_openat2'`. */
  attach(fn: string): Link {
    validate.name('fn', fn);
    return this.attachToTarget(fn, 'kernel function', (object) => object.attachFexit(this.name, fn));
  }
}

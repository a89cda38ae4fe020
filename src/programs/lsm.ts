import type { Link } from '../link';
import { BtfTargetProgram } from './btf-target';

/**
 * An LSM program (`#[lsm]` in aya-ebpf): runs at a Linux Security Module hook and can deny the
 * action by returning a negative errno. Needs `bpf` among the kernel's active LSMs
 * (`/sys/kernel/security/lsm`). Loaded for one hook.
 *
 * Needs Linux 5.7, with `bpf` among the active LSMs.
 *
 * ```ts
 * using link = obj.program('deny_open', Lsm).attach('file_open');
 * ```
 */
export class Lsm extends BtfTargetProgram {
  static override readonly kind = 'lsm';

  /** Attaches to the hook `hook`, e.g. `'file_open'` (the kernel's `bpf_lsm_file_open`). */
  attach(hook: string): Link {
    return this.attachToTarget(hook, 'LSM hook', (object) => object.attachLsm(this.name, hook));
  }
}

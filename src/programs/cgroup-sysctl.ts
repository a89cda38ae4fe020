import type { Link } from '../link';
import type { CgroupAttachMode } from './cgroup-skb';
import { Program } from './program';

/**
 * A cgroup_sysctl program (`#[cgroup_sysctl]` in aya-ebpf): runs when a process of a cgroup
 * (v2) reads or writes a sysctl under `/proc/sys`. Returning 0 refuses the access (the read or
 * write fails with EPERM); the program can also read the name and values and rewrite the
 * value written.
 *
 * ```ts
 * using link = obj.program('deny_sysctl', CgroupSysctl).attach('/sys/fs/cgroup/sandbox');
 * ```
 *
 * Needs Linux 5.2.
 */
export class CgroupSysctl extends Program {
  static override readonly kind = 'cgroup_sysctl';

  /** Attaches to the cgroup v2 directory `cgroup` (a missing one is a `NotFoundError`). */
  attach(cgroup: string, options: { mode?: CgroupAttachMode } = {}): Link {
    return this.attachWith(`cgroup_sysctl ${cgroup}`, (object) => object.attachCgroupSysctl(this.name, cgroup, options.mode));
  }
}

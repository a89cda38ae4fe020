import type { Link } from '../link';
import type { CgroupAttachMode } from './cgroup-skb';
import { Program } from './program';

/**
 * A cgroup_sockopt program (`#[cgroup_sockopt(getsockopt)]` or `(setsockopt)` in aya-ebpf):
 * runs when a process of a cgroup (v2) gets or sets a socket option, and may refuse (return 0:
 * EPERM) or rewrite the option's value. Which call comes from its section.
 *
 * ```ts
 * using link = obj.program('deny_so_broadcast', CgroupSockopt).attach('/sys/fs/cgroup/sandbox');
 * ```
 *
 * Needs Linux 5.3.
 */
export class CgroupSockopt extends Program {
  static override readonly kind = 'cgroup_sockopt';

  /** Attaches to the cgroup v2 directory `cgroup` (a missing one is a `NotFoundError`). */
  attach(cgroup: string, options: { mode?: CgroupAttachMode } = {}): Link {
    return this.attachWith(`cgroup_sockopt ${cgroup}`, (object) => object.attachCgroupSockopt(this.name, cgroup, options.mode));
  }
}

import type { Link } from '../link';
import type { CgroupAttachMode } from './cgroup-skb';
import { Program } from './program';

/**
 * A cgroup_sock_addr program (`#[cgroup_sock_addr(connect4)]` etc. in aya-ebpf): runs when a
 * process of a cgroup (v2) binds, connects or sends to an address, and may rewrite the address
 * or refuse (return 0: the syscall fails with EPERM). The operation comes from its section.
 *
 * Needs Linux 4.17 (bind/connect; sendmsg hooks 4.18).
 *
 * ```ts
 * using link = obj.program('redirect_connect', CgroupSockAddr).attach('/sys/fs/cgroup/unified/app');
 * ```
 */
export class CgroupSockAddr extends Program {
  static override readonly kind = 'cgroup_sock_addr';

  /** Attaches to the cgroup v2 directory `cgroup`. */
  attach(cgroup: string, options: { mode?: CgroupAttachMode } = {}): Link {
    return this.attachWith(`cgroup_sock_addr ${cgroup}`, (object) =>
      object.attachCgroupSockAddr(this.name, cgroup, options.mode),
    );
  }
}

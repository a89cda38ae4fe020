import type { Link } from '../link';
import type { CgroupAttachMode } from './cgroup-skb';
import { Program } from './program';

/**
 * A sock_ops program (`#[sock_ops]` in aya-ebpf): called on TCP events of the sockets of a
 * cgroup (v2): connection established actively or passively, retransmission, RTT samples,
 * state changes (some only after `bpf_sock_ops_cb_flags_set`). It may set socket options,
 * answer the kernel's questions (e.g. the initial congestion window) or add the socket to a
 * `SockHash`/`SockMap`.
 *
 * ```ts
 * using link = obj.program('count_established', SockOps).attach('/sys/fs/cgroup/my.slice');
 * ```
 *
 * Needs Linux 4.13.
 */
export class SockOps extends Program {
  static override readonly kind = 'sock_ops';

  /** Attaches to the cgroup v2 directory `cgroup`. */
  attach(cgroup: string, options: { mode?: CgroupAttachMode } = {}): Link {
    return this.attachWith(`sock_ops ${cgroup}`, (object) => object.attachSockOps(this.name, cgroup, options.mode));
  }
}

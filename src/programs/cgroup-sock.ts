import type { Link } from '../link';
import type { CgroupAttachMode } from './cgroup-skb';
import { Program } from './program';

/**
 * A cgroup_sock program (`#[cgroup_sock(sock_create)]`, `post_bind4`, `post_bind6`,
 * `sock_release` in aya-ebpf): runs when a process of a cgroup (v2) creates, binds or releases
 * a socket, and may refuse (return 0: `socket()`/`bind()` fails with EPERM) or set the
 * socket's mark, priority or bound device. The operation comes from its section.
 *
 * ```ts
 * using link = obj.program('deny_udp4_sockets', CgroupSock).attach('/sys/fs/cgroup/sandbox');
 * ```
 *
 * Needs Linux 4.10.
 */
export class CgroupSock extends Program {
  static override readonly kind = 'cgroup_sock';

  /** Attaches to the cgroup v2 directory `cgroup` (a missing one is a `NotFoundError`). */
  attach(cgroup: string, options: { mode?: CgroupAttachMode } = {}): Link {
    return this.attachWith(`cgroup_sock ${cgroup}`, (object) => object.attachCgroupSock(this.name, cgroup, options.mode));
  }
}

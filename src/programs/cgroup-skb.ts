import type { Link } from '../link';
import { Program } from './program';

/**
 * How a program shares a cgroup with others, for kernels without BPF links (before 5.7):
 * BPF_F_ALLOW_OVERRIDE / BPF_F_ALLOW_MULTI. With links (the default, `single`), the kernel
 * always runs the program alongside the cgroup's other programs.
 */
export type CgroupAttachMode = 'single' | 'override' | 'multiple';

export interface CgroupSkbOptions {
  /** Packets the cgroup's processes receive (`ingress`) or send (`egress`, default). */
  direction?: 'ingress' | 'egress';
  /** Default `single` (see {@link CgroupAttachMode}). */
  mode?: CgroupAttachMode;
}

/**
 * A cgroup_skb program (`#[cgroup_skb]` in aya-ebpf): runs on each packet that processes in a
 * cgroup (v2) send or receive, and returns 1 to allow it or 0 to drop it.
 *
 * ```ts
 * using link = obj.program('deny_udp_port', CgroupSkb).attach('/sys/fs/cgroup/my.slice', { direction: 'egress' });
 * ```
 *
 * Needs Linux 4.10.
 */
export class CgroupSkb extends Program {
  static override readonly kind = 'cgroup_skb';

  /** Attaches to the cgroup v2 directory `cgroup`. */
  attach(cgroup: string, options: CgroupSkbOptions = {}): Link {
    const direction = options.direction ?? 'egress';
    return this.attachWith(`cgroup_skb ${direction} ${cgroup}`, (object) =>
      object.attachCgroupSkb(this.name, cgroup, direction, options.mode),
    );
  }
}

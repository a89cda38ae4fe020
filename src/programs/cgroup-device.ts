import type { Link } from '../link';
import type { CgroupAttachMode } from './cgroup-skb';
import { Program } from './program';

/**
 * A cgroup_device program (`#[cgroup_device]` in aya-ebpf): runs when a process of a cgroup
 * (v2) opens or creates (mknod) a device node, with the device's type, major, minor and the
 * access asked for. Returning 0 refuses it (EPERM). This is how cgroup v2 controls devices.
 *
 * ```ts
 * using link = obj.program('deny_char_device', CgroupDevice).attach('/sys/fs/cgroup/sandbox');
 * ```
 *
 * Needs Linux 4.15.
 */
export class CgroupDevice extends Program {
  static override readonly kind = 'cgroup_device';

  /** Attaches to the cgroup v2 directory `cgroup` (a missing one is a `NotFoundError`). */
  attach(cgroup: string, options: { mode?: CgroupAttachMode } = {}): Link {
    return this.attachWith(`cgroup_device ${cgroup}`, (object) => object.attachCgroupDevice(this.name, cgroup, options.mode));
  }
}

import type { Link } from '../link';
import { Program } from './program';

export interface TcOptions {
  /** Packets entering (`ingress`, default) or leaving (`egress`) the interface. */
  direction?: 'ingress' | 'egress';
  /**
   * `tcx`: a TCX link (Linux 6.6+); `netlink`: a filter on a clsact qdisc (added if missing);
   * `auto` (default): TCX where the kernel has it.
   */
  api?: 'auto' | 'tcx' | 'netlink';
  /** The interface lives in this network namespace, e.g. `/run/netns/NAME`. */
  netns?: string;
}

/**
 * A TC classifier (`#[classifier]` in aya-ebpf, Aya's `SchedClassifier`): runs on each skb
 * entering or leaving an interface and returns a TC action (TC_ACT_OK, TC_ACT_SHOT, ...).
 * The link's `kind` says how it was attached: `tcx` or `tc` (netlink).
 *
 * ```ts
 * using link = obj.program('tc_drop_udp', SchedClassifier).attach('eth0', { direction: 'egress' });
 * ```
 *
 * Needs Linux 4.1 (TCX links: 6.6).
 */
export class SchedClassifier extends Program {
  static override readonly kind = 'sched_cls';

  /** Attaches to `iface`, a name or an interface index. */
  attach(iface: string | number, options: TcOptions = {}): Link {
    const direction = options.direction ?? 'ingress';
    const where = options.netns ? ` in ${options.netns}` : '';
    return this.attachWith(`tc ${direction} ${iface}${where}`, (object) =>
      object.attachTc(this.name, iface, direction, options.api, options.netns),
    );
  }
}

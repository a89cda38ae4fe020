import { Link } from '../link';
import { Program } from './program';
import { watchTcFilter } from './tc-watch';
import * as validate from '../validate';

const TC_APIS = ['auto', 'tcx', 'netlink'] as const;

export interface TcOptions {
  /** Packets entering (`ingress`, default) or leaving (`egress`) the interface. */
  direction?: 'ingress' | 'egress';
  /**
   * `tcx`: a TCX link (Linux 6.6+); `netlink`: a filter on a clsact qdisc (added if missing,
   * and left in place), removed when this process ends however it ends (a watcher process
   * covers signals); `auto` (default): TCX where the kernel has it.
   */
  api?: 'auto' | 'tcx' | 'netlink';
  /** The interface lives in this network namespace, e.g. `/run/netns/NAME`. */
  netns?: string;
}

/**
 * A TC classifier (`#[classifier]` in aya-ebpf, Aya's `SchedClassifier`): runs on each skb
 * entering or leaving an interface and returns a TC action (TC_ACT_OK, TC_ACT_SHOT, ...).
 * The link's `kind` says how it was attached: `tcx` or `tc` (netlink). A TCX link goes with
 * the process; a netlink filter does not, so this library removes it when the process ends
 * without `close()`: at exit in-process, and after a signal (SIGTERM, SIGKILL) through a small
 * watcher process (see docs/programs.md, "TC filters after the process ends").
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
    validate.iface('iface', iface);
    options = validate.options('options', options);
    const direction = options.direction ?? 'ingress';
    if (options.direction !== undefined) validate.oneOf('options.direction', options.direction, ['ingress', 'egress']);
    if (options.api !== undefined) validate.oneOf('options.api', options.api, TC_APIS);
    validate.optionalName('options.netns', options.netns);
    const where = options.netns ? ` in ${options.netns}` : '';
    const target = `tc ${direction} ${iface}${where}`;
    return this.attachAs(
      target,
      (object) => object.attachTc(this.name, iface, direction, options.api, options.netns),
      (link, pin) => {
        const filter = link.tcFilter;
        if (!filter) return new Link(link, this.name, target, pin);
        // A netlink filter outlives the process: watched until detached (see tc-watch.ts).
        let unwatch = (): void => {};
        const out = new Link(link, this.name, target, pin, () => unwatch());
        unwatch = watchTcFilter(out, filter, options.netns);
        return out;
      },
    );
  }
}

import type { Link } from '../link';
import { Program } from './program';

/**
 * An sk_lookup program (`#[sk_lookup]` in aya-ebpf): runs in a network namespace when a TCP
 * connection or UDP datagram arrives, before the kernel looks up the receiving socket. It can
 * pick any socket (e.g. one stored in a `SockMap`, through `redirect_sk_lookup`), so one socket
 * serves many addresses and ports; refuse (`SK_DROP`: a TCP connect gets ECONNREFUSED); or
 * pass (`SK_PASS` without picking: the usual lookup).
 *
 * ```ts
 * using link = obj.program('steer_or_drop', SkLookup).attach('/run/netns/blue');
 * ```
 *
 * Needs Linux 5.9.
 */
export class SkLookup extends Program {
  static override readonly kind = 'sk_lookup';

  /**
   * Attaches to the network namespace at `netns`: `/proc/self/ns/net` for this process's own,
   * `/run/netns/NAME` for one made by `ip netns add` (a missing one is a `NotFoundError`).
   */
  attach(netns: string): Link {
    return this.attachWith(`sk_lookup ${netns}`, (object) => object.attachSkLookup(this.name, netns));
  }
}

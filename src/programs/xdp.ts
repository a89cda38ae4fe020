import type { Link } from '../link';
import { Program } from './program';

export interface XdpOptions {
  /** `skb` (generic, works everywhere), `driver` (native), `hardware` (offload); default: the kernel picks. */
  mode?: 'default' | 'skb' | 'driver' | 'hardware';
  /** The interface lives in this network namespace, e.g. `/run/netns/NAME`. */
  netns?: string;
}

/**
 * An XDP program (`#[xdp]` in aya-ebpf): runs on each packet an interface receives, before the
 * kernel builds an skb, and returns XDP_DROP, XDP_PASS, XDP_TX or XDP_REDIRECT.
 *
 * ```ts
 * using link = obj.program('xdp_drop_udp', Xdp).attach('eth0', { mode: 'skb' });
 * ```
 *
 * Needs Linux 4.8 (XDP links: 5.9).
 */
export class Xdp extends Program {
  static override readonly kind = 'xdp';

  /** Attaches to `iface`, a name or an interface index. */
  attach(iface: string | number, options: XdpOptions = {}): Link {
    const where = options.netns ? ` in ${options.netns}` : '';
    return this.attachWith(`xdp ${iface}${where}`, (object) =>
      object.attachXdp(this.name, iface, options.mode, options.netns),
    );
  }
}

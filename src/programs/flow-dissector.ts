import type { Link } from '../link';
import { Program } from './program';

/**
 * A flow_dissector program (`#[flow_dissector]` in aya-ebpf): replaces the kernel's packet
 * dissector in a network namespace. It fills the flow keys (addresses, ports, protocol) that
 * RPS, fq_codel, bonding and others hash packets by, and returns `BPF_OK`, `BPF_DROP` (the
 * dissection fails) or `BPF_FLOW_DISSECTOR_CONTINUE` (the kernel's dissector does the work).
 *
 * ```ts
 * using link = obj.program('count_flows', FlowDissector).attach('/run/netns/blue');
 * ```
 *
 * Needs Linux 4.20 (attached through a link: 5.7).
 */
export class FlowDissector extends Program {
  static override readonly kind = 'flow_dissector';

  /**
   * Attaches to the network namespace at `netns` (`/proc/self/ns/net`, `/run/netns/NAME`; a
   * missing one is a `NotFoundError`). A namespace has at most one flow dissector.
   */
  attach(netns: string): Link {
    return this.attachWith(`flow_dissector ${netns}`, (object) => object.attachFlowDissector(this.name, netns));
  }
}

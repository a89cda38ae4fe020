import type { Link } from '../link';
import { Program } from './program';
import { withSockMap, type SockMapLike } from './sock-map-target';

/**
 * An sk_skb program (`#[stream_parser]` or `#[stream_verdict]` in aya-ebpf): runs on the data
 * that the sockets in the `SockMap`/`SockHash` it is attached to receive. A stream parser returns
 * the length of the next message in the byte stream; a stream verdict returns `SK_PASS` (1:
 * the socket receives it), `SK_DROP` (0: discarded), or redirects it to another socket of a map
 * with `bpf_sk_redirect_map/hash`. Without a parser, the verdict sees the data as it arrives.
 *
 * As with {@link SkMsg}, a socket takes the map's programs when it is added to the map, and
 * keeps them until it is removed: attach first, then add sockets. One parser and one verdict per
 * map; attaching another replaces the one before.
 *
 * ```ts
 * const sockets = obj.map('SOCKETS', SockMap);
 * obj.program('whole_skb', SkSkb).attach(sockets);
 * obj.program('drop_or_forward', SkSkb).attach(sockets);
 * sockets.set(0, acceptedSocket);
 * ```
 *
 * Needs Linux 4.14.
 */
export class SkSkb extends Program {
  static override readonly kind = 'sk_skb';

  /**
   * Attaches to a socket map (a `SockMap`/`SockHash`, or the name of one in this object), as
   * its stream parser or stream verdict: whichever the program's section says.
   */
  attach(map: SockMapLike): Link {
    return withSockMap(this.nativeObject, map, (handle, label) =>
      this.attachWith(`sk_skb map ${label}`, (object) => object.attachSkSkb(this.name, handle), {
        // BPF_PROG_ATTACH to the map, not a BPF link: nothing to pin.
        pinnable: false,
      }),
    );
  }
}

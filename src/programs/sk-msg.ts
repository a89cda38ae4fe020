import type { Link } from '../link';
import { Program } from './program';
import { withSockMap, type SockMapLike } from './sock-map-target';

/**
 * An sk_msg program (`#[sk_msg]` in aya-ebpf): runs on each `sendmsg()` of the sockets in the
 * `SockMap`/`SockHash` it is attached to, and returns `SK_PASS` (1), `SK_DROP` (0: the sender's
 * write fails with EACCES), or redirects the message with `bpf_msg_redirect_map/hash`.
 *
 * The kernel hands a map's programs to each socket when the socket is added to the map, so
 * attach before adding sockets; a socket added earlier keeps the programs it got until it is
 * removed from the map (detaching only affects sockets added afterwards). One sk_msg program
 * per map: attaching another replaces it (the first link's `detach()` then fails with ENOENT).
 *
 * ```ts
 * const sockets = obj.map('SOCKETS', SockMap);
 * using link = obj.program('count_and_drop', SkMsg).attach(sockets);
 * sockets.set(0, tcpSocket); // its writes now go through the program
 * ```
 *
 * Needs Linux 4.17.
 */
export class SkMsg extends Program {
  static override readonly kind = 'sk_msg';

  /** Attaches to a socket map (a `SockMap`/`SockHash`, or the name of one in this object). */
  attach(map: SockMapLike): Link {
    return withSockMap(this.nativeObject, map, (handle, label) =>
      this.attachWith(`sk_msg map ${label}`, (object) => object.attachSkMsg(this.name, handle), {
        // BPF_PROG_ATTACH to the map, not a BPF link: nothing to pin.
        pinnable: false,
      }),
    );
  }
}

import type { Link } from '../link';
import { socketFd, type SocketLike } from '../socket';
import { Program } from './program';

export type { SocketLike } from '../socket';

/**
 * A socket filter (`#[socket_filter]` in aya-ebpf): runs on each packet a socket receives and
 * returns how many bytes of it to keep (0 drops it). A socket has one BPF filter at a time.
 * The link holds a duplicate of the socket's fd until it is detached.
 *
 * ```ts
 * const socket = dgram.createSocket('udp4');
 * socket.bind(9000, () => obj.program('drop_long_datagrams', SocketFilter).attach(socket));
 * ```
 *
 * Needs Linux 3.19.
 */
export class SocketFilter extends Program {
  static override readonly kind = 'socket_filter';

  /** Attaches to `socket` (a bound or connected socket, or its fd). */
  attach(socket: SocketLike): Link {
    const fd = socketFd(socket, 'socket filter');
    return this.attachWith(`socket fd ${fd}`, (object) => object.attachSocketFilter(this.name, fd));
  }
}

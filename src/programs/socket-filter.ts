import { invalidArgument } from '../errors';
import type { Link } from '../link';
import { Program } from './program';

/** A socket to filter: its fd, or a `dgram.Socket`/`net.Socket`/`net.Server` that has one. */
export type SocketLike = number | { fd: number } | object;

/**
 * A socket filter (`#[socket_filter]` in aya-ebpf): runs on each packet a socket receives and
 * returns how many bytes of it to keep (0 drops it). A socket has one BPF filter at a time.
 * The link holds a duplicate of the socket's fd until it is detached.
 *
 * ```ts
 * const socket = dgram.createSocket('udp4');
 * socket.bind(9000, () => obj.program('drop_long_datagrams', SocketFilter).attach(socket));
 * ```
 */
export class SocketFilter extends Program {
  static override readonly kind = 'socket_filter';

  /** Attaches to `socket` (a bound or connected socket, or its fd). */
  attach(socket: SocketLike): Link {
    const fd = socketFd(socket);
    return this.attachWith(`socket fd ${fd}`, (object) => object.attachSocketFilter(this.name, fd));
  }
}

/** The fd of a Node socket (through its libuv handle) or the number itself. */
function socketFd(socket: SocketLike): number {
  if (typeof socket === 'number') return socket;
  const candidate = socket as { fd?: unknown; _handle?: { fd?: unknown } };
  // dgram sockets keep their handle under a private symbol (their `_handle` is deprecated).
  const state = Object.getOwnPropertySymbols(socket)
    .filter((s) => s.description === 'state symbol')
    .map((s) => (socket as Record<symbol, { handle?: { fd?: unknown } }>)[s])[0];
  const fd =
    typeof candidate.fd === 'number'
      ? candidate.fd
      : state?.handle
        ? state.handle.fd
        : candidate._handle?.fd;
  if (typeof fd === 'number' && fd >= 0) return fd;
  throw invalidArgument('socket filter: expected an fd or an open, bound socket (it has no fd yet)');
}

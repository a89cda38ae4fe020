import { invalidArgument } from './errors';

/** A socket: its fd, or a Node `dgram.Socket`/`net.Socket`/`net.Server` that has one. */
export type SocketLike = number | { fd: number } | object;

/** The fd of a Node socket (through its libuv handle), or the number itself. */
export function socketFd(socket: SocketLike, what: string): number {
  if (typeof socket === 'number') {
    if (Number.isInteger(socket) && socket >= 0) return socket;
    throw invalidArgument(`${what}: ${socket} is not a file descriptor`);
  }
  const candidate = socket as { fd?: unknown; _handle?: { fd?: unknown } | null };
  // dgram sockets keep their handle under a private symbol (their `_handle` is deprecated).
  const state = Object.getOwnPropertySymbols(socket)
    .filter((s) => s.description === 'state symbol')
    .map((s) => (socket as Record<symbol, { handle?: { fd?: unknown } }>)[s])[0];
  const fd = typeof candidate.fd === 'number' ? candidate.fd : state?.handle ? state.handle.fd : candidate._handle?.fd;
  if (typeof fd === 'number' && Number.isInteger(fd) && fd >= 0) return fd;
  throw invalidArgument(`${what}: expected an fd or an open, bound socket (it has no fd yet)`);
}

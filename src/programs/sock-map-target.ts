// What sk_msg and sk_skb programs share: the socket map they attach to, given as a map object
// or as the name of a map of the program's own object.

import type * as native from '../native';
import { invalidArgument } from '../errors';
import { BpfMap } from '../maps/map';
import type { SockHash, SockMap } from '../maps/sock';

/** A `sockmap`/`sockhash` map object, or the name of one in the program's object. */
export type SockMapLike = SockMap | SockHash<any> | string;

/**
 * Runs `attach` with the native handle of `map`. A name is opened in `object` for the call
 * only (the kernel link keeps its own reference to the map). @internal
 */
export function withSockMap<T>(
  object: native.EbpfObject,
  map: SockMapLike,
  attach: (handle: native.MapHandle, label: string) => T,
): T {
  if (typeof map === 'string') {
    const handle = object.openMap(map);
    try {
      return attach(handle, map);
    } finally {
      handle.close();
    }
  }
  if (!(map instanceof BpfMap)) throw invalidArgument('expected a SockMap, a SockHash or the name of a map');
  return attach(map.nativeHandle, map.name);
}

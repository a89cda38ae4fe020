// tcplife: TCP connections with addresses, ports, duration and bytes, when they close.

import { structMemberOffset } from '../btf';
import { bytes, cstring, struct, u16, u32, u64, type Infer } from '../codec';
import type { GlobalValue } from '../object';
import { commOption, openRingTool, pidOption, RingTool, type RingToolOptions } from './tool';
import * as validate from '../validate';

/** Layout of `aya_node_common::tcplife::TcpLifeEvent`. */
export const TcpLifeEvent = struct({
  pid: u32,
  family: u16,
  sport: u16,
  dport: u16,
  _pad: u16,
  saddr: bytes(16),
  daddr: bytes(16),
  durationNs: u64,
  rxBytes: u64,
  txBytes: u64,
  comm: cstring(16),
});
export type TcpLifeEvent = Infer<typeof TcpLifeEvent>;

export interface TcpLife {
  /** The process that connected (0 for connections it did not see opened by a process). */
  pid: number;
  comm: string;
  family: 'ipv4' | 'ipv6';
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  durationMs: number;
  /**
   * Bytes received and sent (acknowledged by the peer), as the kernel's `tcp_sock` counters
   * have them: they also count one sequence number each for SYN and FIN.
   */
  rxBytes: bigint;
  txBytes: bigint;
}

const AF_INET = 2;

/**
 * Where the program finds in a `struct sock` what the `sock:inet_sock_set_state` record holds
 * (the raw tracepoint gets only the pointer), from the kernel's BTF.
 */
function sockGlobals(): Record<string, GlobalValue> {
  const common = structMemberOffset('sock', '__sk_common');
  const inCommon = (member: string) => common + structMemberOffset('sock_common', member);
  const offsets = {
    TCP_BYTES_RECEIVED_OFFSET: structMemberOffset('tcp_sock', 'bytes_received'),
    TCP_BYTES_ACKED_OFFSET: structMemberOffset('tcp_sock', 'bytes_acked'),
    SK_FAMILY_OFFSET: inCommon('skc_family'),
    SK_PROTOCOL_OFFSET: structMemberOffset('sock', 'sk_protocol'),
    // `struct inet_sock` starts with its `struct sock`.
    SK_SPORT_OFFSET: structMemberOffset('inet_sock', 'inet_sport'),
    SK_DPORT_OFFSET: inCommon('skc_dport'),
    SK_SADDR_OFFSET: inCommon('skc_rcv_saddr'),
    SK_DADDR_OFFSET: inCommon('skc_daddr'),
    SK_SADDR_V6_OFFSET: inCommon('skc_v6_rcv_saddr'),
    SK_DADDR_V6_OFFSET: inCommon('skc_v6_daddr'),
  };
  return Object.fromEntries(Object.entries(offsets).map(([name, value]) => [name, { codec: u32, value }]));
}

function address(family: number, raw: Buffer): string {
  if (family === AF_INET) return `${raw[0]}.${raw[1]}.${raw[2]}.${raw[3]}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(raw.readUInt16BE(i).toString(16));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

export interface TcplifeOptions extends RingToolOptions {
  pid?: number;
  comm?: string;
  objectPath?: string;
}

/** Reports TCP connections as they close (raw `inet_sock_set_state` tracepoint): `for await (const c of Tcplife.open())`. */
export class Tcplife extends RingTool<TcpLifeEvent, TcpLife> {
  readonly #filter: TcplifeOptions;

  private constructor(opened: ReturnType<typeof openRingTool<TcpLifeEvent>>, filter: TcplifeOptions) {
    super(opened);
    this.#filter = filter;
  }

  static open(options: TcplifeOptions = {}): Tcplife {
    options = validate.options('options', options);
    const filter = { pid: pidOption(options.pid), comm: commOption(options.comm) };
    const opened = openRingTool('tcplife', TcpLifeEvent, [{ program: 'tcplife', tracepoint: 'inet_sock_set_state' }], {
      objectPath: options.objectPath,
      ringSize: options.ringSize,
      globals: sockGlobals(),
    });
    return new Tcplife(opened, filter);
  }

  protected convert(ev: TcpLifeEvent): TcpLife | undefined {
    if (this.#filter.pid !== undefined && ev.pid !== this.#filter.pid) return undefined;
    if (this.#filter.comm !== undefined && ev.comm !== this.#filter.comm) return undefined;
    return {
      pid: ev.pid,
      comm: ev.comm,
      family: ev.family === AF_INET ? 'ipv4' : 'ipv6',
      localAddress: address(ev.family, ev.saddr),
      localPort: ev.sport,
      remoteAddress: address(ev.family, ev.daddr),
      remotePort: ev.dport,
      durationMs: Number(ev.durationNs) / 1e6,
      rxBytes: ev.rxBytes,
      txBytes: ev.txBytes,
    };
  }
}

// Packets for BPF_PROG_TEST_RUN (`program.testRun({ data })`): Ethernet + IPv4 + UDP frames
// with valid checksums, and the XDP verdicts.

export const XDP_ABORTED = 0;
export const XDP_DROP = 1;
export const XDP_PASS = 2;
export const XDP_TX = 3;
export const XDP_REDIRECT = 4;

export interface UdpPacket {
  srcMac: string;
  dstMac: string;
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  payload: Buffer;
}

/** The packet `udpFrame()` builds when given nothing. */
export const basePacket: Readonly<UdpPacket> = Object.freeze({
  srcMac: '02:00:00:00:00:01',
  dstMac: '02:00:00:00:00:02',
  srcIp: '10.0.0.1',
  dstIp: '10.0.0.2',
  srcPort: 40000,
  dstPort: 9999,
  payload: Buffer.from('hello, xdp'),
});

function mac(s: string, what: string): Buffer {
  const parts = s.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) throw new TypeError(`${what}: expected a MAC address like 02:00:00:00:00:01, got "${s}"`);
  return Buffer.from(parts.map((h) => parseInt(h, 16)));
}

function ipv4(s: string, what: string): Buffer {
  const parts = s.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new TypeError(`${what}: expected an IPv4 address, got "${s}"`);
  return Buffer.from(parts);
}

function port(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff) throw new RangeError(`${what}: expected a port 0-65535, got ${n}`);
  return n;
}

function checksum(bytes: Buffer): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i] << 8) | (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** An Ethernet + IPv4 + UDP frame; fields not given come from `basePacket`. */
export function udpFrame(packet: Partial<UdpPacket> = {}): Buffer {
  const p = { ...basePacket, ...packet };
  if (!(p.payload instanceof Uint8Array)) throw new TypeError('payload: expected a Buffer');
  if (p.payload.length > 1472) throw new RangeError(`payload: at most 1472 bytes fit an Ethernet frame, got ${p.payload.length}`);
  const src = ipv4(p.srcIp, 'srcIp');
  const dst = ipv4(p.dstIp, 'dstIp');
  const udpLen = 8 + p.payload.length;
  const ipHeader = Buffer.alloc(20);
  ipHeader[0] = 0x45;
  ipHeader.writeUInt16BE(20 + udpLen, 2);
  ipHeader[8] = 64;
  ipHeader[9] = 17;
  src.copy(ipHeader, 12);
  dst.copy(ipHeader, 16);
  ipHeader.writeUInt16BE(checksum(ipHeader), 10);
  const udp = Buffer.alloc(udpLen);
  udp.writeUInt16BE(port(p.srcPort, 'srcPort'), 0);
  udp.writeUInt16BE(port(p.dstPort, 'dstPort'), 2);
  udp.writeUInt16BE(udpLen, 4);
  Buffer.from(p.payload).copy(udp, 8);
  const pseudo = Buffer.concat([src, dst, Buffer.from([0, 17, udpLen >> 8, udpLen & 0xff]), udp]);
  udp.writeUInt16BE(checksum(pseudo) || 0xffff, 6);
  const eth = Buffer.concat([mac(p.dstMac, 'dstMac'), mac(p.srcMac, 'srcMac'), Buffer.from([0x08, 0x00])]);
  return Buffer.concat([eth, ipHeader, udp]);
}

// Crafted packets and object paths shared by the loader tests.

import { join } from 'node:path';

export const objectPath = (name: string): string => join(__dirname, '..', 'ebpf', 'objects', `${name}.bpf.o`);

export const XDP_DROP = 1;
export const XDP_PASS = 2;
export const XDP_TX = 3;

export interface UdpPacket {
  srcMac: string;
  dstMac: string;
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  payload: Buffer;
}

const mac = (s: string): Buffer => Buffer.from(s.split(':').map((h) => parseInt(h, 16)));
const ip = (s: string): Buffer => Buffer.from(s.split('.').map(Number));

function checksum(bytes: Buffer): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i] << 8) | (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** An Ethernet + IPv4 + UDP frame with valid IP and UDP checksums. */
export function udpFrame(p: UdpPacket): Buffer {
  const udpLen = 8 + p.payload.length;
  const ipHeader = Buffer.alloc(20);
  ipHeader[0] = 0x45;
  ipHeader.writeUInt16BE(20 + udpLen, 2);
  ipHeader[8] = 64;
  ipHeader[9] = 17;
  ip(p.srcIp).copy(ipHeader, 12);
  ip(p.dstIp).copy(ipHeader, 16);
  ipHeader.writeUInt16BE(checksum(ipHeader), 10);
  const udp = Buffer.alloc(udpLen);
  udp.writeUInt16BE(p.srcPort, 0);
  udp.writeUInt16BE(p.dstPort, 2);
  udp.writeUInt16BE(udpLen, 4);
  p.payload.copy(udp, 8);
  const pseudo = Buffer.concat([ip(p.srcIp), ip(p.dstIp), Buffer.from([0, 17]), Buffer.from([udpLen >> 8, udpLen & 0xff]), udp]);
  udp.writeUInt16BE(checksum(pseudo) || 0xffff, 6);
  const eth = Buffer.concat([mac(p.dstMac), mac(p.srcMac), Buffer.from([0x08, 0x00])]);
  return Buffer.concat([eth, ipHeader, udp]);
}

export const basePacket: UdpPacket = {
  srcMac: '02:00:00:00:00:01',
  dstMac: '02:00:00:00:00:02',
  srcIp: '10.0.0.1',
  dstIp: '10.0.0.2',
  srcPort: 40000,
  dstPort: 9999,
  payload: Buffer.from('hello, xdp'),
};

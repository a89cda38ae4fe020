// Crafted packets and object paths shared by the loader tests (the packet builder is the public
// kit's: src/testing/packets.ts).

import { join } from 'node:path';

export const objectPath = (name: string): string => join(__dirname, '..', 'ebpf', 'objects', `${name}.bpf.o`);

export { XDP_DROP, XDP_PASS, XDP_TX, udpFrame, basePacket, type UdpPacket } from '../src/testing';

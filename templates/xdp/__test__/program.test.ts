// Runs the XDP program on crafted packets (BPF_PROG_TEST_RUN: no interface needed) and on a
// real veth pair in two network namespaces.
import test from 'ava';
import { requirementsUnmet, udpFrame, udpRoundTrip, vethPair, waitForEvent, XDP_DROP, XDP_PASS } from 'aya-node/testing';
import { format, open } from '../src/index';

const unmet = requirementsUnmet({ root: true, programTypes: ['xdp'] });
const kernelTest = unmet ? test.skip : test;
const skipped = unmet ? ` (skipped: ${unmet})` : '';

test('a dropped packet prints with its addresses and ports', (t) => {
  const event = { saddr: Buffer.from([10, 0, 0, 1]), daddr: Buffer.from([10, 0, 0, 2]), sport: 40000, dport: 9999, len: 52 };
  t.is(format(event), '10.0.0.1:40000 -> 10.0.0.2:9999 (52 bytes) dropped');
});

kernelTest(`UDP to the blocked port is dropped and reported, other packets pass${skipped}`, async (t) => {
  using program = open(9999);
  const xdp = program.programs.{{crate}};
  const events = program.maps.EVENTS();
  const seen = waitForEvent(events, (e) => e.dport === 9999, { timeout: 5000 });
  const blocked = udpFrame({ srcIp: '10.1.2.3', dstIp: '10.1.2.4', srcPort: 40000, dstPort: 9999, payload: Buffer.from('hi') });
  t.is(xdp.testRun({ data: blocked }).returnValue, XDP_DROP);
  t.is(xdp.testRun({ data: udpFrame({ dstPort: 53 }) }).returnValue, XDP_PASS);
  const event = await seen;
  t.deepEqual(event.saddr, Buffer.from([10, 1, 2, 3]));
  t.is(event.sport, 40000);
  t.is(event.len, blocked.length);
  // Per-CPU counters: one value per CPU, summed.
  const udpPackets = (program.maps.COUNTS().get(17) ?? []).reduce((a, b) => a + b, 0n);
  t.true(udpPackets >= 2n);
});

kernelTest(`attached to a veth, it drops real traffic to the blocked port${skipped}`, async (t) => {
  const pair = vethPair(t);
  using program = open(7777);
  const events = program.maps.EVENTS();
  program.programs.{{crate}}.attach(pair.ifB, { mode: 'skb', netns: pair.netnsB });
  const seen = waitForEvent(events, (e) => e.dport === 7777, { timeout: 5000 });
  // No reply comes (the request is dropped): only the sending matters here.
  await udpRoundTrip(pair.nsA, pair.addrB, 7777, 300);
  const event = await seen;
  t.deepEqual([...event.daddr].join('.'), pair.addrB);
});

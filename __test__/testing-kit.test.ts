// aya-node/testing itself: the packets it builds, the cgroup its children run in, the veth pair
// traffic crosses, and how waiting for an event fails.

import test from 'ava';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { Execsnoop } from '../src';
import { requirementsUnmet, testCgroup, udpEchoServer, udpFrame, udpRoundTrip, uniqueExecutable, vethPair, waitForEvent } from '../src/testing';

/** The ones' complement sum of 16-bit words: 0xffff over a header whose checksum is right. */
function sum16(bytes: Buffer): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i] << 8) | (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

test('udpFrame: Ethernet + IPv4 + UDP with a valid IP checksum, fields from the defaults or given', (t) => {
  const frame = udpFrame({ dstIp: '192.168.1.9', dstPort: 53, payload: Buffer.from('abc') });
  t.is(frame.length, 14 + 20 + 8 + 3);
  t.is(frame.readUInt16BE(12), 0x0800);
  t.is(sum16(frame.subarray(14, 34)), 0xffff, 'the IPv4 header checksum verifies');
  t.deepEqual([...frame.subarray(30, 34)], [192, 168, 1, 9]);
  t.is(frame.readUInt16BE(36), 53);
  t.is(frame.subarray(42).toString(), 'abc');
  t.throws(() => udpFrame({ dstPort: 70000 }), { instanceOf: RangeError, message: /dstPort: expected a port 0-65535, got 70000/ });
  t.throws(() => udpFrame({ srcIp: '10.0.0' }), { instanceOf: TypeError, message: /srcIp: expected an IPv4 address/ });
});

const unmet = requirementsUnmet({ root: true, programTypes: ['tracepoint'], tracefs: true, commands: ['ip'] });
const kernelTest = unmet ? test.skip : test;
const skipped = unmet ? ` (skipped: ${unmet})` : '';

kernelTest(`testCgroup: a child runs inside the cgroup from its first instruction${skipped}`, async (t) => {
  const cgroup = testCgroup(t);
  const ran = await cgroup.run('/bin/cat', ['/proc/self/cgroup']);
  t.is(ran.code, 0);
  t.is(ran.stdout.trim().split(':').pop(), `/${basename(cgroup.path)}`);
  t.false(readFileSync('/proc/self/cgroup', 'utf8').includes(basename(cgroup.path)), 'this process stayed outside');
});

kernelTest(`vethPair: a datagram from one namespace reaches an echo server in the other${skipped}`, async (t) => {
  const pair = vethPair(t);
  await udpEchoServer(t, pair.nsB, pair.addrB, [7000]);
  t.true(await udpRoundTrip(pair.nsA, pair.addrB, 7000));
  t.false(await udpRoundTrip(pair.nsA, pair.addrB, 7001, 300), 'no server on the other port');
});

kernelTest(`waitForEvent: resolves with the matching event, and fails saying how many others went by${skipped}`, async (t) => {
  using snoop = Execsnoop.open();
  using exe = uniqueExecutable();
  const seen = waitForEvent(snoop, (e) => e.filename === exe.path, { timeout: 5000 });
  const pid = await exe.run();
  t.is((await seen).pid, pid);
  const missed = waitForEvent(snoop, (e) => e.filename === '/nonexistent/never', { timeout: 300 });
  await exe.run();
  await t.throwsAsync(missed, { message: /^no matching event within 300 ms \(\d+ other events? went by\)$/ });
  await t.throwsAsync(waitForEvent(snoop, () => true, { timeout: -1 }), { instanceOf: RangeError });
});

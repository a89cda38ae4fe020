import test from 'ava';
import { bundledObjectPath, Ebpf, type EbpfError, NotFoundError, SchedClassifier, Xdp } from '../src';
import { collect, ifIndexIn, noLinksOf, TestEvent, u16, udpEchoServer, udpRoundTrip, vethPair } from './programs-helpers';

const DROPPED_PORT = 7001;
const OTHER_PORT = 7002;

// Each test: a client namespace and a server namespace joined by a veth pair, a UDP echo
// server on two ports in the server namespace, and a program that drops one of the ports.

test('XDP (skb mode, by name) drops UDP to one port on the server side; traffic flows again after detach', async (t) => {
  const net = vethPair(t);
  await udpEchoServer(t, net.nsB, net.addrB, [DROPPED_PORT, OTHER_PORT]);
  t.true(await udpRoundTrip(net.nsA, net.addrB, DROPPED_PORT), 'reachable before attaching');

  using obj = Ebpf.load(bundledObjectPath('xdp_drop_udp'), { globals: { DROP_PORT: u16(DROPPED_PORT) } });
  const events = obj.ringBuf('EVENTS', TestEvent);
  const link = obj.program('xdp_drop_udp', Xdp).attach(net.ifB, { mode: 'skb', netns: net.netnsB });
  t.is(link.kind, 'xdp');
  t.false(await udpRoundTrip(net.nsA, net.addrB, DROPPED_PORT), 'dropped while attached');
  t.true(await udpRoundTrip(net.nsA, net.addrB, OTHER_PORT), 'the other port still passes');
  const drops = await collect(events, 100);
  t.true(drops.length >= 1 && drops.every((e) => e.value === BigInt(DROPPED_PORT)), `${drops.length} drops reported`);

  link.detach();
  t.true(await udpRoundTrip(net.nsA, net.addrB, DROPPED_PORT), 'flows again after detach');
});

test('XDP (native mode, by interface index) drops too', async (t) => {
  const net = vethPair(t);
  await udpEchoServer(t, net.nsB, net.addrB, [DROPPED_PORT]);
  using obj = Ebpf.load(bundledObjectPath('xdp_drop_udp'), { globals: { DROP_PORT: u16(DROPPED_PORT) } });
  const link = obj.program('xdp_drop_udp', Xdp).attach(ifIndexIn(net.nsB, net.ifB), { mode: 'driver', netns: net.netnsB });
  t.false(await udpRoundTrip(net.nsA, net.addrB, DROPPED_PORT));
  obj.close();
  t.false(link.attached);
  t.true(await udpRoundTrip(net.nsA, net.addrB, DROPPED_PORT), 'closing the object detached it');
});

for (const [api, direction, side] of [
  ['tcx', 'ingress', 'server'],
  ['netlink', 'egress', 'client'],
] as const) {
  test(`TC classifier via ${api} on ${direction} of the ${side} drops UDP to one port, and not after detach`, async (t) => {
    const net = vethPair(t);
    await udpEchoServer(t, net.nsB, net.addrB, [DROPPED_PORT, OTHER_PORT]);
    t.true(await udpRoundTrip(net.nsA, net.addrB, DROPPED_PORT), 'reachable before attaching');

    using obj = Ebpf.load(bundledObjectPath('tc_drop_udp'), { globals: { DROP_PORT: u16(DROPPED_PORT) } });
    const events = obj.ringBuf('EVENTS', TestEvent);
    const [iface, netns] = side === 'server' ? [net.ifB, net.netnsB] : [net.ifA, net.netnsA];
    const link = obj.program('tc_drop_udp', SchedClassifier).attach(iface, { direction, api, netns });
    t.is(link.kind, api === 'tcx' ? 'tcx' : 'tc');
    t.false(await udpRoundTrip(net.nsA, net.addrB, DROPPED_PORT), 'dropped while attached');
    t.true(await udpRoundTrip(net.nsA, net.addrB, OTHER_PORT), 'the other port still passes');
    t.true((await collect(events, 100)).length >= 1, 'drops reported');

    link.detach();
    t.true(await udpRoundTrip(net.nsA, net.addrB, DROPPED_PORT), 'flows again after detach');
  });
}

test('a missing interface or namespace is a NotFoundError naming it, and nothing is attached', (t) => {
  using obj = Ebpf.load(bundledObjectPath('xdp_drop_udp'));
  const noIf = t.throws(() => obj.program('xdp_drop_udp', Xdp).attach('aya-no-such0'));
  t.true(noIf instanceof NotFoundError, String(noIf));
  t.regex(noIf!.message, /aya-no-such0/);
  const noNs = t.throws(() => obj.program('xdp_drop_udp', Xdp).attach('lo', { netns: '/run/netns/aya-no-such-ns' }));
  t.true(noNs instanceof NotFoundError, String(noNs));
  t.regex(noNs!.message, /aya-no-such-ns/);

  using tc = Ebpf.load(bundledObjectPath('tc_drop_udp'));
  const noTcIf = t.throws(() => tc.program('tc_drop_udp', SchedClassifier).attach('aya-no-such0', { api: 'netlink' }));
  t.true(noTcIf instanceof NotFoundError, String(noTcIf));
  const noIndex = t.throws(() => tc.program('tc_drop_udp', SchedClassifier).attach(999999));
  t.true(noIndex instanceof NotFoundError, String(noIndex));
  t.true(noLinksOf(obj, 'xdp_drop_udp'));
  t.true(noLinksOf(tc, 'tc_drop_udp'));
});

test('asking for a program as the wrong kind of hook is a WRONG_TYPE error naming both kinds', (t) => {
  using obj = Ebpf.load(bundledObjectPath('xdp_drop_udp'));
  const err = t.throws(() => obj.program('xdp_drop_udp', SchedClassifier));
  t.is((err as EbpfError).code, 'WRONG_TYPE');
  t.regex(err!.message, /xdp/);
  t.regex(err!.message, /sched_cls/);
  t.false(obj.program('xdp_drop_udp').loaded, 'nothing was loaded');
});

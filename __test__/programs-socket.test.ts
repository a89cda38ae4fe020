import test from 'ava';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { bundledObjectPath, CgroupSkb, CgroupSockAddr, Ebpf, EbpfError, NotFoundError, SocketFilter } from '../src';
import { collect, noLinksOf, testCgroup, TestEvent, u16, u32 } from './programs-helpers';
import { runInCgroup as kitRunInCgroup } from '../src/testing';

/** A UDP socket on 127.0.0.1 that records the payloads it receives. */
async function receiver(): Promise<{ socket: dgram.Socket; port: number; received: string[] }> {
  const socket = dgram.createSocket('udp4');
  const received: string[] = [];
  socket.on('message', (m) => received.push(m.toString()));
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return { socket, port: socket.address().port, received };
}

async function sendAll(port: number, messages: string[]): Promise<void> {
  const sender = dgram.createSocket('udp4');
  for (const m of messages) await new Promise<void>((resolve) => sender.send(m, port, '127.0.0.1', () => resolve()));
  sender.close();
}

const settle = () => new Promise((r) => setTimeout(r, 150));

test('a socket filter on a UDP socket drops the long datagrams and passes the short ones', async (t) => {
  const rx = await receiver();
  t.teardown(() => rx.socket.close());
  using obj = Ebpf.load(bundledObjectPath('socket_filter'), { globals: { MAX_LEN: u32(200) } });
  const events = obj.ringBuf('EVENTS', TestEvent);
  const link = obj.program('drop_long_datagrams', SocketFilter).attach(rx.socket);
  t.is(link.kind, 'socket_filter');

  const short = Array.from({ length: 5 }, (_, i) => `short-${i}`);
  const long = Array.from({ length: 5 }, (_, i) => `long-${i}-`.padEnd(400, 'x'));
  await sendAll(rx.port, [...short, ...long]);
  await settle();
  t.deepEqual(rx.received, short);
  const drops = await collect(events, 100);
  t.is(drops.length, long.length, 'each long datagram was reported dropped');
  t.true(drops.every((e) => e.value >= 400n));

  link.detach();
  rx.received.length = 0;
  await sendAll(rx.port, long);
  await settle();
  t.deepEqual(rx.received, long, 'long datagrams arrive after detach');
});

test('a socket filter on something that is not a socket is a typed error', (t) => {
  using obj = Ebpf.load(bundledObjectPath('socket_filter'));
  const err = t.throws(() => obj.program('drop_long_datagrams', SocketFilter).attach(0x7fffff));
  t.true(err instanceof EbpfError);
  t.is((err as EbpfError).code, 'INVALID_ARGUMENT');
});

/** Runs `node -e script` inside `cgroup`, resolving with its exit code when it exits. */
const runInCgroup = async (cgroup: string, script: string) => (await kitRunInCgroup(cgroup, process.execPath, ['-e', script])).code;

const sendFromChild = (port: number, n: number) => `
  const s = require('node:dgram').createSocket('udp4');
  let left = ${n};
  const done = () => { if (--left === 0) s.close(); };
  for (let i = 0; i < ${n}; i++) s.send('from-child-' + i, ${port}, '127.0.0.1', done);`;

test('cgroup_skb on egress of a cgroup drops its processes\' UDP to one port, others unaffected', async (t) => {
  const rx = await receiver();
  t.teardown(() => rx.socket.close());
  const cgroup = testCgroup(t);
  using obj = Ebpf.load(bundledObjectPath('cgroup_skb'), { globals: { DROP_PORT: u16(rx.port) } });
  const events = obj.ringBuf('EVENTS', TestEvent);
  const link = obj.program('deny_udp_port', CgroupSkb).attach(cgroup, { direction: 'egress' });

  await runInCgroup(cgroup, sendFromChild(rx.port, 3));
  await sendAll(rx.port, ['from-test']); // this process is not in the cgroup
  await settle();
  t.deepEqual(rx.received, ['from-test'], 'only the datagram from outside the cgroup arrived');
  t.is((await collect(events, 100)).length, 3, 'the three datagrams from the cgroup were denied');

  link.detach();
  rx.received.length = 0;
  await runInCgroup(cgroup, sendFromChild(rx.port, 3));
  await settle();
  t.is(rx.received.length, 3, 'they arrive after detach');
});

test('cgroup_sock_addr connect4 refuses connect() to one port for processes of the cgroup', async (t) => {
  const cgroup = testCgroup(t);
  const rx = await receiver();
  t.teardown(() => rx.socket.close());
  using obj = Ebpf.load(bundledObjectPath('cgroup_sock_addr'), { globals: { DENY_PORT: u16(rx.port) } });
  const link = obj.program('deny_connect4', CgroupSockAddr).attach(cgroup);
  const tryConnect = `
    const s = require('node:dgram').createSocket('udp4');
    s.connect(${rx.port}, '127.0.0.1', (err) => process.exit(err ? 3 : 0));
    s.on('error', (err) => { process.exit(err.code === 'EPERM' ? 3 : 4); });`;
  t.is(await runInCgroup(cgroup, tryConnect), 3, 'connect() fails with EPERM in the cgroup');
  link.detach();
  t.is(await runInCgroup(cgroup, tryConnect), 0, 'connect() works after detach');
});

test('a missing cgroup is a NotFoundError naming it, and nothing is attached', (t) => {
  using obj = Ebpf.load(bundledObjectPath('cgroup_skb'));
  const err = t.throws(() => obj.program('deny_udp_port', CgroupSkb).attach('/sys/fs/cgroup/aya-node-no-such-cgroup'));
  t.true(err instanceof NotFoundError, String(err));
  t.regex(err!.message, /aya-node-no-such-cgroup/);
  t.true(noLinksOf(obj, 'deny_udp_port'));
});

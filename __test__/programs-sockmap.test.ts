// sk_msg, sk_skb and sock_ops programs against real TCP connections on loopback: what the
// programs count, drop and redirect, and that detach (or closing the object) stops it.

import test from 'ava';
import { once } from 'node:events';
import net from 'node:net';
import {
  ArrayMap,
  BpfMap,
  bundledObjectPath,
  codec,
  Ebpf,
  EbpfError,
  NotFoundError,
  SkMsg,
  SkSkb,
  SockHash,
  SockMap,
  SockOps,
} from '../src';
import { kernelLinks } from './helpers';
import { runInCgroup as kitRunInCgroup } from '../src/testing';
import { eventually, noLinksOf, testCgroup } from './programs-helpers';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One accepted connection on the test server: its socket and everything it received. */
interface Accepted {
  socket: net.Socket;
  received: string[];
}

/** A TCP server on 127.0.0.1 that records, per accepted connection, what it receives. */
async function tcpServer(t: { teardown(fn: () => void): void }) {
  const accepted: Accepted[] = [];
  const waiting: Array<(a: Accepted) => void> = [];
  const server = net.createServer((socket) => {
    const entry: Accepted = { socket, received: [] };
    socket.on('data', (d) => entry.received.push(d.toString()));
    socket.on('error', () => {});
    accepted.push(entry);
    waiting.shift()?.(entry);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const clients: net.Socket[] = [];
  t.teardown(() => {
    for (const c of clients) c.destroy();
    for (const a of accepted) a.socket.destroy();
    server.close();
  });
  /** A new connection: the client socket, what it receives, and the server's side of it. */
  async function connect(): Promise<{ client: net.Socket; clientReceived: string[]; peer: Accepted }> {
    const peerAccepted = new Promise<Accepted>((resolve) => waiting.push(resolve));
    const client = net.connect(port, '127.0.0.1');
    clients.push(client);
    const clientReceived: string[] = [];
    client.on('data', (d) => clientReceived.push(d.toString()));
    client.on('error', () => {}); // a refused write also reports here; tests check the write's callback
    await once(client, 'connect');
    return { client, clientReceived, peer: await peerAccepted };
  }
  return { port, connect };
}

/** Writes `data`, resolving with the error the write ended with (null when it went out). */
function write(socket: net.Socket, data: string): Promise<NodeJS.ErrnoException | null> {
  return new Promise((resolve) => socket.write(data, (err) => resolve(err ?? null)));
}

const counters = (map: ArrayMap<bigint>, n: number) => Array.from({ length: n }, (_, i) => Number(map.get(i)));

test('sk_msg on a sockmap counts the messages and bytes sockets send and refuses `DROP` ones with EACCES', async (t) => {
  const server = await tcpServer(t);
  using obj = Ebpf.load(bundledObjectPath('sk_msg'));
  const stats = obj.map('STATS', ArrayMap, codec.u64);
  const sockets = obj.map('SOCKETS', SockMap);
  const link = obj.program('count_and_drop', SkMsg).attach(sockets);
  t.is(link.kind, 'sk_msg');
  t.is(link.target, 'sk_msg map SOCKETS');

  const a = await server.connect();
  sockets.set(0, a.client);
  const messages = ['hello', 'sockmap world', 'x'.repeat(1000)];
  for (const m of messages) t.is(await write(a.client, m), null);
  t.true(await eventually(() => a.peer.received.join('') === messages.join('')), 'the passed messages arrive');
  const bytes = messages.reduce((n, m) => n + m.length, 0);
  t.deepEqual(counters(stats, 3), [messages.length, bytes, 0], 'one run per sendmsg, every byte counted');

  const refused = await write(a.client, 'DROP this one');
  t.is(refused?.code, 'EACCES', 'the sender is refused');
  await sleep(100);
  t.is(a.peer.received.join(''), messages.join(''), 'the receiver got nothing of it');
  t.deepEqual(counters(stats, 3), [messages.length + 1, bytes + 'DROP this one'.length, 1]);

  link.detach();
  t.false(link.attached);
  const b = await server.connect();
  sockets.set(1, b.client);
  t.is(await write(b.client, 'DROP is fine now'), null, 'a socket added after detach is not filtered');
  t.true(await eventually(() => b.peer.received.join('') === 'DROP is fine now'));
  t.deepEqual(counters(stats, 3), [messages.length + 1, bytes + 'DROP this one'.length, 1], 'nothing counted after detach');
});

test('sk_msg: a socket added before detach keeps the program until it leaves the map', async (t) => {
  const server = await tcpServer(t);
  using obj = Ebpf.load(bundledObjectPath('sk_msg'));
  const stats = obj.map('STATS', ArrayMap, codec.u64);
  const sockets = obj.map('SOCKETS', SockMap);
  const link = obj.program('count_and_drop', SkMsg).attach(sockets);
  const a = await server.connect();
  sockets.set(0, a.client);
  link.detach();
  // The kernel copied the map's programs into the socket when it was added.
  t.is((await write(a.client, 'DROP still'))?.code, 'EACCES');
  t.is(Number(stats.get(2)), 1);
  const b = await server.connect();
  sockets.set(1, b.client);
  t.true(sockets.delete(1));
  t.is(await write(b.client, 'DROP out of the map'), null);
  t.true(await eventually(() => b.peer.received.join('') === 'DROP out of the map'));
});

test('sk_msg: the link cannot be pinned; a second program on the map replaces the first, whose detach then fails ENOENT', async (t) => {
  const server = await tcpServer(t);
  using obj = Ebpf.load(bundledObjectPath('sk_msg'));
  using other = Ebpf.load(bundledObjectPath('sk_msg'));
  const otherStats = other.map('STATS', ArrayMap, codec.u64);
  const sockets = obj.map('SOCKETS', SockMap);
  const first = obj.program('count_and_drop', SkMsg).attach(sockets);
  const pinErr = t.throws(() => first.pin('/sys/fs/bpf/aya-node-sk-msg-link'));
  t.is((pinErr as EbpfError).code, 'INVALID_ARGUMENT');
  const second = other.program('count_and_drop', SkMsg).attach(sockets);
  const a = await server.connect();
  sockets.set(0, a.client);
  t.is(await write(a.client, 'seen by the second'), null);
  t.is(Number(otherStats.get(0)), 1, 'the second program runs');
  const detachErr = t.throws(() => first.detach());
  t.is((detachErr as EbpfError).errnoName, 'ENOENT');
  second.detach();
});

test('sk_msg attached by map name to a SockHash made from TypeScript, detached by closing the object', async (t) => {
  const server = await tcpServer(t);
  using hash = SockHash.create({ maxEntries: 4, name: 'aya_test_sh' }, codec.u32);
  const obj = Ebpf.load(bundledObjectPath('sk_msg'));
  t.teardown(() => obj.close());
  const stats = obj.map('STATS', ArrayMap, codec.u64);
  obj.program('count_and_drop', SkMsg).attach(hash);
  const a = await server.connect();
  hash.set(0xdecaf, a.client);
  t.is(await write(a.client, 'pass via hash'), null);
  t.true(await eventually(() => a.peer.received.join('') === 'pass via hash'));
  // (Node destroys a socket whose write failed, so the refused write comes last.)
  t.is((await write(a.client, 'DROP via hash'))?.code, 'EACCES');
  t.deepEqual(counters(stats, 3), [2, 'DROP via hash'.length + 'pass via hash'.length, 1]);

  obj.close();
  const b = await server.connect();
  hash.set(1, b.client);
  t.is(await write(b.client, 'DROP after close'), null, 'closing the object detached the program');
  t.true(await eventually(() => b.peer.received.join('') === 'DROP after close'));

  // By name: the object's own sockhash.
  using obj2 = Ebpf.load(bundledObjectPath('sk_msg'));
  const byName = obj2.program('count_and_drop', SkMsg).attach('SOCKET_HASH');
  t.is(byName.target, 'sk_msg map SOCKET_HASH');
  const c = await server.connect();
  obj2.map('SOCKET_HASH', SockHash, codec.u32).set(7, c.client);
  t.is((await write(c.client, 'DROP by name'))?.code, 'EACCES');
  byName.detach();
});

test('sk_skb stream verdict (no parser) passes, drops and redirects what a socket receives', async (t) => {
  const server = await tcpServer(t);
  using obj = Ebpf.load(bundledObjectPath('sk_skb'));
  const stats = obj.map('STATS', ArrayMap, codec.u64);
  const sockets = obj.map('SOCKETS', SockMap);
  const verdict = obj.program('drop_or_forward', SkSkb).attach(sockets);
  t.is(verdict.kind, 'sk_skb');

  const a = await server.connect();
  const b = await server.connect();
  sockets.set(0, a.peer.socket);
  sockets.set(1, b.peer.socket); // `FWD:` data leaves from here, towards b's client

  // One write at a time, each seen by the program before the next, so TCP cannot merge them.
  const send = async (data: string, counter: number, expected: number) => {
    a.client.write(data);
    t.true(await eventually(() => Number(stats.get(counter)) === expected), `the program saw ${JSON.stringify(data)}`);
  };
  await send('hello', 0, 1);
  await send('DROP me', 1, 1);
  await send('again', 0, 2);
  await send('FWD:relayed', 2, 1);
  t.true(await eventually(() => b.clientReceived.join('') === 'FWD:relayed'), 'redirected out of the other socket');
  t.true(await eventually(() => a.peer.received.join('') === 'helloagain'), 'the receiving socket got the passed data');
  await sleep(50);
  t.is(a.peer.received.join(''), 'helloagain', 'and only that');
  t.deepEqual(b.peer.received, [], 'the target socket itself received nothing');
  t.is(Number(stats.get(4)), 'hello'.length + 'DROP me'.length + 'again'.length + 'FWD:relayed'.length);

  verdict.detach();
  const c = await server.connect();
  sockets.set(2, c.peer.socket);
  c.client.write('DROP nothing now');
  t.true(await eventually(() => c.peer.received.join('') === 'DROP nothing now'), 'a socket added after detach gets all');
  t.is(Number(stats.get(1)), 1);
});

test('sk_skb stream parser and stream verdict together: the parser frames, the verdict drops', async (t) => {
  const server = await tcpServer(t);
  using obj = Ebpf.load(bundledObjectPath('sk_skb'));
  const stats = obj.map('STATS', ArrayMap, codec.u64);
  const sockets = obj.map('SOCKETS', SockMap);
  const parser = obj.program('whole_skb', SkSkb).attach(sockets);
  const verdict = obj.program('drop_or_forward', SkSkb).attach(sockets);
  const a = await server.connect();
  sockets.set(0, a.peer.socket);
  a.client.write('framed');
  t.true(await eventually(() => a.peer.received.join('') === 'framed'));
  a.client.write('DROP framed');
  t.true(await eventually(() => Number(stats.get(1)) === 1));
  a.client.write('!');
  t.true(await eventually(() => a.peer.received.join('') === 'framed!'));
  t.true(Number(stats.get(3)) >= 3, `the parser ran for each message (${stats.get(3)} runs)`);
  t.is(Number(stats.get(0)), 2);

  parser.detach();
  verdict.detach();
  const runs = Number(stats.get(3));
  const b = await server.connect();
  sockets.set(1, b.peer.socket);
  b.client.write('DROP unparsed');
  t.true(await eventually(() => b.peer.received.join('') === 'DROP unparsed'));
  t.is(Number(stats.get(3)), runs, 'neither program runs for a socket added after detach');
});

test('sk_msg/sk_skb on a map that is not a socket map is a WRONG_TYPE error, and nothing attaches', async (t) => {
  const server = await tcpServer(t);
  using obj = Ebpf.load(bundledObjectPath('sk_msg'));
  const stats = obj.map('STATS', ArrayMap, codec.u64);
  const err = t.throws(() => obj.program('count_and_drop', SkMsg).attach(stats as unknown as SockMap));
  t.true(err instanceof EbpfError);
  t.is((err as EbpfError).code, 'WRONG_TYPE');
  t.regex(err!.message, /sockmap or sockhash/);
  t.regex(err!.message, /STATS/);
  const byName = t.throws(() => obj.program('count_and_drop', SkMsg).attach('STATS'));
  t.is((byName as EbpfError).code, 'WRONG_TYPE');
  const missing = t.throws(() => obj.program('count_and_drop', SkMsg).attach('NO_SUCH_MAP'));
  t.true(missing instanceof NotFoundError, String(missing));
  t.regex(missing!.message, /NO_SUCH_MAP/);
  const wrongProgram = t.throws(() => obj.program('count_and_drop', SkSkb));
  t.is((wrongProgram as EbpfError).code, 'WRONG_TYPE');

  // The refused attaches left the socket map without a program.
  const sockets = obj.map('SOCKETS', SockMap);
  const a = await server.connect();
  sockets.set(0, a.client);
  t.is(await write(a.client, 'DROP unfiltered'), null);
  t.true(await eventually(() => a.peer.received.join('') === 'DROP unfiltered'));
  t.is(Number(stats.get(0)), 0);

  // A closed map handle is refused too.
  const closed = obj.map('SOCKET_HASH', SockHash, codec.u32);
  closed.close();
  const closedErr = t.throws(() => obj.program('count_and_drop', SkMsg).attach(closed));
  t.is((closedErr as EbpfError).code, 'CLOSED');
});

/** Runs `node -e script` inside `cgroup`; resolves with its exit code and stdout. */
const runInCgroup = (cgroup: string, script: string) => kitRunInCgroup(cgroup, process.execPath, ['-e', script]);

/** A child that listens on loopback, connects to itself once, and prints the port. */
const connectToSelf = `
  const net = require('node:net');
  const server = net.createServer((s) => { s.destroy(); server.close(); });
  server.listen(0, '127.0.0.1', () => {
    const port = server.address().port;
    const c = net.connect(port, '127.0.0.1', () => { console.log(port); c.destroy(); });
  });`;

test('sock_ops on a cgroup counts the TCP connections its processes establish, actively and passively', async (t) => {
  const cgroup = testCgroup(t);
  using obj = Ebpf.load(bundledObjectPath('sock_ops'));
  const stats = obj.map('STATS', ArrayMap, codec.u64);
  const link = obj.program('count_established', SockOps).attach(cgroup);
  t.is(link.kind, 'sock_ops');
  t.true(kernelLinks().some((l) => l.prog_id === obj.program('count_established').id), 'a kernel BPF link');

  const first = await runInCgroup(cgroup, connectToSelf);
  t.is(first.code, 0);
  const port = Number(first.stdout.trim());
  t.true(port > 0);
  t.deepEqual(counters(stats, 3), [1, 1, port], 'one connect, one accept, on the child\'s port');

  // This process is not in the cgroup: its connections are not seen.
  const server = await tcpServer(t);
  await server.connect();
  t.deepEqual(counters(stats, 2), [1, 1]);

  link.detach();
  t.true(noLinksOf(obj, 'count_established'));
  t.is((await runInCgroup(cgroup, connectToSelf)).code, 0);
  t.deepEqual(counters(stats, 2), [1, 1], 'nothing counted after detach');
});

test('sock_ops: closing the object detaches it; a missing cgroup is a NotFoundError and attaches nothing', async (t) => {
  const cgroup = testCgroup(t);
  const obj = Ebpf.load(bundledObjectPath('sock_ops'));
  t.teardown(() => obj.close());
  const err = t.throws(() => obj.program('count_established', SockOps).attach('/sys/fs/cgroup/aya-node-no-such-cgroup'));
  t.true(err instanceof NotFoundError, String(err));
  t.regex(err!.message, /aya-node-no-such-cgroup/);
  t.true(noLinksOf(obj, 'count_established'));

  // A handle of our own on the counters, which outlives the object's.
  const stats = BpfMap.fromId(obj.map('STATS', ArrayMap, codec.u64).id, ArrayMap, codec.u64);
  t.teardown(() => stats.close());
  obj.program('count_established', SockOps).attach(cgroup);
  const id = obj.program('count_established').id;
  t.is((await runInCgroup(cgroup, connectToSelf)).code, 0);
  t.is(Number(stats.get(0)), 1);
  obj.close();
  t.false(kernelLinks().some((l) => l.prog_id === id), 'no kernel link of the program after close');
  t.is((await runInCgroup(cgroup, connectToSelf)).code, 0);
  t.is(Number(stats.get(0)), 1, 'the map (still open here) counts nothing more');
});

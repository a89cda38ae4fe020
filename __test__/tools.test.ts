import test from 'ava';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Opensnoop, Tcplife, type Open, type TcpLife } from '../src';
import { within } from './helpers';

async function firstMatching<T>(events: AsyncIterable<T>, match: (ev: T) => boolean): Promise<T> {
  for await (const ev of events) if (match(ev)) return ev;
  throw new Error('the stream ended first');
}

test('opensnoop sees this process open a unique file, with its fd and flags, and a failed open with its errno', async (t) => {
  const path = join(tmpdir(), `aya-node-open-${process.pid}-${Date.now()}`);
  writeFileSync(path, 'x');
  using snoop = Opensnoop.open({ pid: process.pid });
  const opened = firstMatching(snoop, (ev: Open) => ev.path === path);
  const fd = openSync(path, 'r');
  closeSync(fd);
  const ev = await within(5000, 'the open', opened);
  t.is(ev.pid, process.pid);
  t.is(ev.retval, fd);
  t.is(ev.flags & 3, 0, 'O_RDONLY');

  const missing = `${path}-missing`;
  const failed = firstMatching(snoop, (e: Open) => e.path === missing);
  t.throws(() => openSync(missing, 'r'));
  t.is((await within(5000, 'the failed open', failed)).retval, -2);
});

test('opensnoop --comm filters in the kernel and the CLI prints JSON lines', async (t) => {
  const path = join(tmpdir(), `aya-node-cli-${process.pid}-${Date.now()}`);
  writeFileSync(path, 'x');
  // The CLI runs until --duration ends; cat opens the file while it runs.
  const cli = require('node:child_process').spawn(process.execPath, ['--import=tsx', join(__dirname, '..', 'src', 'cli.ts'), 'opensnoop', '--comm', 'cat', '--json', '--duration', '3'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  cli.stdout.on('data', (d: Buffer) => (out += d));
  await new Promise((r) => setTimeout(r, 1500));
  execFileSync('cat', [path]);
  execFileSync('head', ['-c1', path]);
  await within(10_000, 'the CLI to stop after --duration', new Promise((r) => cli.on('exit', r)));
  const events = out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Open);
  t.true(events.some((e) => e.path === path && e.comm === 'cat'), 'cat opening the file is reported');
  t.true(events.every((e) => e.comm === 'cat'), 'only cat is reported');
});

test('tcplife reports a loopback TCP connection with its ports and bytes when it closes', async (t) => {
  const net = await import('node:net');
  using life = Tcplife.open();
  const server = net.createServer((socket) => {
    socket.on('data', () => socket.end(Buffer.alloc(3000, 1)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const port = (server.address() as import('node:net').AddressInfo).port;
  const seen = firstMatching(life, (c: TcpLife) => c.remotePort === port && c.pid === process.pid);
  await new Promise<void>((resolve, reject) => {
    const client = net.connect(port, '127.0.0.1', () => client.write(Buffer.alloc(1000, 2)));
    client.on('data', () => {});
    client.on('end', () => client.end());
    client.on('close', () => resolve());
    client.on('error', reject);
  });
  const conn = await within(5000, 'the closed connection', seen);
  t.is(conn.family, 'ipv4');
  t.is(conn.remoteAddress, '127.0.0.1');
  t.is(conn.localAddress, '127.0.0.1');
  t.true(conn.localPort > 0);
  // The kernel's counters also count one sequence number each for SYN and FIN.
  t.true(conn.txBytes >= 1000n && conn.txBytes <= 1002n, `bytes the client sent (${conn.txBytes})`);
  t.true(conn.rxBytes >= 3000n && conn.rxBytes <= 3002n, `bytes the client received (${conn.rxBytes})`);
  t.true(conn.durationMs > 0);
});

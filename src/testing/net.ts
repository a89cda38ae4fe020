// Network namespaces for tests: two fresh namespaces joined by a veth pair, a UDP echo server
// inside one, and datagrams sent from the other. Needs root (CAP_NET_ADMIN) and iproute2.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { own, uniqueName, type TeardownOwner } from './owner';

export interface VethPair extends Disposable {
  /** Namespace with `ifA` = `addrA`, where clients run. */
  nsA: string;
  /** Namespace with `ifB` = `addrB`, where servers run and programs attach. */
  nsB: string;
  ifA: string;
  ifB: string;
  addrA: string;
  addrB: string;
  /** `/run/netns/<nsA>`, for the `netns` attach options. */
  netnsA: string;
  /** `/run/netns/<nsB>`, for the `netns` attach options. */
  netnsB: string;
  /** Deletes both namespaces (and with them the veth pair). */
  close(): void;
}

let subnets = 0;

/**
 * Two fresh network namespaces joined by a veth pair with addresses in a /24 of their own,
 * interfaces up. Deleted by `close()`, `using`, or when the test of `owner` (ava's `t`) ends.
 */
export function vethPair(owner?: TeardownOwner): VethPair {
  const nsA = uniqueName('ayaA');
  const nsB = uniqueName('ayaB');
  const ifA = uniqueName('va');
  const ifB = uniqueName('vb');
  const subnet = `10.${200 + (subnets++ % 50)}.${process.pid % 250}`;
  const close = () => {
    for (const ns of [nsA, nsB]) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
  };
  const pair: VethPair = {
    nsA, nsB, ifA, ifB,
    addrA: `${subnet}.1`,
    addrB: `${subnet}.2`,
    netnsA: `/run/netns/${nsA}`,
    netnsB: `/run/netns/${nsB}`,
    close,
    [Symbol.dispose]: close,
  };
  own(pair, owner);
  const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });
  try {
    ip('netns', 'add', nsA);
    ip('netns', 'add', nsB);
    ip('link', 'add', ifA, 'netns', nsA, 'type', 'veth', 'peer', 'name', ifB, 'netns', nsB);
    ip('-n', nsA, 'addr', 'add', `${pair.addrA}/24`, 'dev', ifA);
    ip('-n', nsB, 'addr', 'add', `${pair.addrB}/24`, 'dev', ifB);
    for (const [ns, dev] of [[nsA, ifA], [nsB, ifB], [nsA, 'lo'], [nsB, 'lo']]) ip('-n', ns, 'link', 'set', dev, 'up');
  } catch (err) {
    close();
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`could not set up a veth pair (needs root and iproute2): ${e.stderr?.toString().trim() || e.message}`);
  }
  return pair;
}

/** The interface index of `dev` inside namespace `ns`. */
export function ifIndexIn(ns: string, dev: string): number {
  const out = execFileSync('ip', ['-n', ns, '-j', 'link', 'show', dev], { encoding: 'utf8' });
  return (JSON.parse(out) as Array<{ ifindex: number }>)[0]!.ifindex;
}

/** A UDP echo server on `ports` at `addr` inside `ns`; resolves once it listens, stopped with the test. */
export async function udpEchoServer(owner: TeardownOwner, ns: string, addr: string, ports: number[]): Promise<void> {
  const script = `
    const dgram = require('node:dgram');
    let ready = 0;
    for (const port of ${JSON.stringify(ports)}) {
      const s = dgram.createSocket('udp4');
      s.on('message', (m, r) => s.send(m, r.port, r.address));
      s.bind(port, ${JSON.stringify(addr)}, () => { if (++ready === ${ports.length}) console.log('ready'); });
    }`;
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  owner.teardown(() => void child.kill('SIGKILL'));
  await waitForLine(child, 'ready', 5000);
}

function waitForLine(child: ChildProcess, line: string, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Error(`no "${line}" from the child within ${ms} ms`)), ms);
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      if (buffered.split('\n').includes(line)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => reject(new Error(`the child exited (${code}) before "${line}"`)));
  });
}

/** Sends a datagram from inside `ns` to `addr:port`; resolves whether a reply came within `ms`. */
export function udpRoundTrip(ns: string, addr: string, port: number, ms = 500): Promise<boolean> {
  if (!Number.isInteger(port) || port < 1 || port > 0xffff) throw new RangeError(`port: expected 1-65535, got ${port}`);
  if (!Number.isFinite(ms) || ms <= 0) throw new RangeError(`ms: expected a positive number, got ${ms}`);
  const script = `
    const s = require('node:dgram').createSocket('udp4');
    setTimeout(() => process.exit(1), ${Number(ms)});
    s.on('message', () => process.exit(0));
    s.on('error', () => process.exit(2));
    s.send('ping', ${Number(port)}, ${JSON.stringify(addr)});`;
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code === 0));
  });
}

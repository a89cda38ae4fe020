// Helpers for the program-type tests: the event the small test programs send, reading a ring
// for a while, globals, network namespaces with a veth pair, cgroups and an LSM probe.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { codec, type Ebpf, type GlobalValue, type Infer, type RingBuf } from '../src';
import { kernelLinks } from './helpers';

/** `{ tgid, tag, value }`, as ebpf/programs/src/test_event.rs sends it. */
export const TestEvent = codec.struct({ tgid: codec.u32, tag: codec.u32, value: codec.i64 });
export type TestEvent = Infer<typeof TestEvent>;

export const u16 = (value: number): GlobalValue => ({ codec: codec.u16, value });
export const u32 = (value: number): GlobalValue => ({ codec: codec.u32, value });
export const u64 = (value: number | bigint): GlobalValue => ({ codec: codec.u64, value: BigInt(value) });

/** Everything the ring delivers within `ms`. */
export async function collect<T>(ring: RingBuf<T>, ms: number): Promise<T[]> {
  const out: T[] = [];
  try {
    for await (const batch of ring.batches({ signal: AbortSignal.timeout(ms) })) out.push(...batch);
  } catch (err) {
    if ((err as Error).name !== 'TimeoutError' && (err as Error).name !== 'AbortError') throw err;
  }
  return out;
}

let counter = 0;
/** A short name unique to this test process, e.g. for namespaces and interfaces. */
export function uniqueName(prefix: string): string {
  return `${prefix}${process.pid % 100000}${(counter++).toString(36)}`;
}

export interface VethPair {
  /** Namespace with `ifA` = `addrA`, where the client runs. */
  nsA: string;
  /** Namespace with `ifB` = `addrB`, where the server runs and programs attach. */
  nsB: string;
  ifA: string;
  ifB: string;
  addrA: string;
  addrB: string;
  /** `/run/netns/<nsB>`, for the `netns` attach option. */
  netnsB: string;
  netnsA: string;
}

/** Two fresh network namespaces joined by a veth pair; removed when the test ends. */
export function vethPair(t: ExecutionContext): VethPair {
  const nsA = uniqueName('ayaA');
  const nsB = uniqueName('ayaB');
  const ifA = uniqueName('va');
  const ifB = uniqueName('vb');
  const subnet = `10.${200 + (counter % 50)}.${process.pid % 250}`;
  const pair: VethPair = {
    nsA, nsB, ifA, ifB,
    addrA: `${subnet}.1`,
    addrB: `${subnet}.2`,
    netnsA: `/run/netns/${nsA}`,
    netnsB: `/run/netns/${nsB}`,
  };
  t.teardown(() => {
    for (const ns of [nsA, nsB]) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
  });
  const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });
  ip('netns', 'add', nsA);
  ip('netns', 'add', nsB);
  ip('link', 'add', ifA, 'netns', nsA, 'type', 'veth', 'peer', 'name', ifB, 'netns', nsB);
  ip('-n', nsA, 'addr', 'add', `${pair.addrA}/24`, 'dev', ifA);
  ip('-n', nsB, 'addr', 'add', `${pair.addrB}/24`, 'dev', ifB);
  for (const [ns, dev] of [[nsA, ifA], [nsB, ifB], [nsA, 'lo'], [nsB, 'lo']]) ip('-n', ns, 'link', 'set', dev, 'up');
  return pair;
}

/** The interface index of `dev` inside `ns`. */
export function ifIndexIn(ns: string, dev: string): number {
  const out = execFileSync('ip', ['-n', ns, '-j', 'link', 'show', dev], { encoding: 'utf8' });
  return (JSON.parse(out) as Array<{ ifindex: number }>)[0]!.ifindex;
}

/** A UDP echo server on `ports` at `addr`, running inside `ns`; stopped when the test ends. */
export async function udpEchoServer(t: ExecutionContext, ns: string, addr: string, ports: number[]): Promise<void> {
  const script = `
    const dgram = require('node:dgram');
    let ready = 0;
    for (const port of ${JSON.stringify(ports)}) {
      const s = dgram.createSocket('udp4');
      s.on('message', (m, r) => s.send(m, r.port, r.address));
      s.bind(port, ${JSON.stringify(addr)}, () => { if (++ready === ${ports.length}) console.log('ready'); });
    }`;
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => void child.kill('SIGKILL'));
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

/** Whether a datagram sent from inside `ns` to `addr:port` comes back within `ms`. */
export function udpRoundTrip(ns: string, addr: string, port: number, ms = 500): Promise<boolean> {
  const script = `
    const s = require('node:dgram').createSocket('udp4');
    setTimeout(() => process.exit(1), ${ms});
    s.on('message', () => process.exit(0));
    s.on('error', () => process.exit(2));
    s.send('ping', ${port}, ${JSON.stringify(addr)});`;
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code === 0));
  });
}

/** Where cgroup v2 is mounted; mounts one in a temporary directory when none is. */
export function cgroup2Root(): string {
  for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
    const [, mountPoint, type] = line.split(' ');
    if (type === 'cgroup2' && mountPoint) return mountPoint;
  }
  const dir = mkdtempSync(join(tmpdir(), 'aya-node-cgroup2-'));
  execFileSync('mount', ['-t', 'cgroup2', 'none', dir]);
  return dir;
}

/** A fresh cgroup v2 directory, removed when the test ends (its processes must have exited). */
export function testCgroup(t: ExecutionContext): string {
  const path = join(cgroup2Root(), uniqueName('aya-node-test-'));
  mkdirSync(path);
  t.teardown(() => {
    try {
      rmdirSync(path);
    } catch {
      // still busy: a child that has not exited yet
    }
  });
  return path;
}

/** Why BPF LSM programs cannot run here (bpf is not an active LSM), or undefined when they can. */
export function bpfLsmUnavailableReason(): string | undefined {
  let active: string;
  try {
    active = readFileSync('/sys/kernel/security/lsm', 'utf8');
  } catch {
    // securityfs is not mounted: look through a private mount of it.
    const dir = mkdtempSync(join(tmpdir(), 'aya-node-securityfs-'));
    try {
      execFileSync('mount', ['-t', 'securityfs', 'securityfs', dir], { stdio: 'pipe' });
      try {
        active = readFileSync(join(dir, 'lsm'), 'utf8');
      } finally {
        execFileSync('umount', [dir]);
      }
    } catch (err) {
      return `cannot read the active LSMs (securityfs): ${(err as Error).message}`;
    } finally {
      rmdirSync(dir);
    }
  }
  return active.trim().split(',').includes('bpf') ? undefined : `bpf is not an active LSM (active: ${active.trim()})`;
}

/** The syscall number of openat on this machine. */
export function openatSyscallNumber(): number {
  switch (process.arch) {
    case 'x64':
      return 257;
    case 'arm64':
      return 56;
    default:
      throw new Error(`no openat syscall number known for ${process.arch}`);
  }
}

let kernelProgramTypes: Record<string, boolean> | undefined;
/**
 * Why the kernel cannot load programs of `type` (bpftool's name: tracing, lsm, ...), from
 * `bpftool feature probe kernel`, or undefined when it can.
 */
export function programTypeUnavailableReason(type: string): string | undefined {
  kernelProgramTypes ??= JSON.parse(execFileSync('bpftool', ['feature', 'probe', 'kernel', '-j'], { encoding: 'utf8' }))
    .program_types as Record<string, boolean>;
  return kernelProgramTypes[`have_${type}_prog_type`] === false
    ? `the kernel refuses BPF_PROG_TYPE_${type.toUpperCase()} programs attached through trampolines (bpftool feature probe: have_${type}_prog_type false; BPF_PROG_LOAD fails with EPERM)`
    : undefined;
}

/** Resolves once `check()` holds, polling for up to `ms` (kernel objects are freed after RCU). */
export async function eventually(check: () => boolean, ms = 2000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

/**
 * Whether the kernel has no link of program `name` of `obj` (true when it is not even loaded).
 * Tests run in parallel processes, so counting all of the kernel's links would race.
 */
export function noLinksOf(obj: Ebpf, name: string): boolean {
  const program = obj.program(name);
  return !program.loaded || !kernelLinks().some((l) => l.prog_id === program.id);
}

// cgroup v2 for tests: a fresh cgroup, and child processes started inside it (they are in it
// from their first instruction, so programs attached to the cgroup see all they do).

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { own, uniqueName, type TeardownOwner } from './owner';

/** Where cgroup v2 is mounted; mounts one in a temporary directory when none is (needs root). */
export function cgroup2Root(): string {
  for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
    const [, mountPoint, type] = line.split(' ');
    if (type === 'cgroup2' && mountPoint) return mountPoint;
  }
  const dir = mkdtempSync(join(tmpdir(), 'aya-node-cgroup2-'));
  execFileSync('mount', ['-t', 'cgroup2', 'none', dir]);
  return dir;
}

export interface TestCgroup extends Disposable {
  /** The cgroup's directory, for attach methods that take a cgroup path. */
  path: string;
  /**
   * Starts `file` with `args` inside the cgroup (it joins before it execs) and resolves with
   * its exit code once it has exited.
   */
  run(file: string, args?: string[]): Promise<{ pid: number; code: number | null }>;
  /** Starts `file` inside the cgroup and returns at once; `close()` kills it. */
  spawn(file: string, args?: string[]): ChildProcess;
  /** Kills the children still running and removes the cgroup. */
  close(): void;
}

/** A fresh cgroup v2 directory; removed by `close()`, `using`, or when the test of `owner` ends. */
export function testCgroup(owner?: TeardownOwner): TestCgroup {
  const path = join(cgroup2Root(), uniqueName('aya-node-test-'));
  mkdirSync(path);
  const children = new Set<ChildProcess>();
  const start = (file: string, args: string[] = []) => {
    if (typeof file !== 'string' || file === '') throw new TypeError('file: expected a program to run');
    // The shell moves itself into the cgroup, then becomes the program: no moment outside.
    const child = spawn('/bin/sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', path, file, ...args], { stdio: 'ignore' });
    children.add(child);
    child.on('exit', () => children.delete(child));
    return child;
  };
  const close = () => {
    for (const child of children) child.kill('SIGKILL');
    for (let i = 0; i < 50; i++) {
      try {
        rmdirSync(path);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        // EBUSY: a killed child has not been reaped yet
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
      }
    }
  };
  const cgroup: TestCgroup = {
    path,
    spawn: start,
    run: (file, args = []) =>
      new Promise((resolve, reject) => {
        const child = start(file, args);
        child.on('error', reject);
        child.on('exit', (code) => resolve({ pid: child.pid ?? -1, code }));
      }),
    close,
    [Symbol.dispose]: close,
  };
  return own(cgroup, owner);
}

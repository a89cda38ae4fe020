// cgroup v2 for tests: a fresh cgroup, and child processes started inside it (they are in it
// from their first instruction, so programs attached to the cgroup see all they do).

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
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
  /** Runs `file` with `args` inside the cgroup (see `runInCgroup`). */
  run(file: string, args?: string[]): Promise<CgroupRun>;
  /** Starts `file` inside the cgroup and returns at once; `close()` kills it. */
  spawn(file: string, args?: string[]): ChildProcess;
  /** Kills the children still running and removes the cgroup. */
  close(): void;
}

export interface CgroupRun {
  pid: number;
  /** Exit code (null when a signal ended it). */
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The argv that makes a shell join `cgroup` and then become `file`: no moment outside it. */
function inCgroupArgv(cgroup: string, file: string, args: string[]): string[] {
  if (typeof file !== 'string' || file === '') throw new TypeError('file: expected a program to run');
  return ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroup, file, ...args];
}

/**
 * Runs `file` with `args` inside the cgroup directory `cgroup` (it joins before it execs, so
 * programs attached to the cgroup see all it does); resolves once it exited and its output
 * was read.
 */
export function runInCgroup(cgroup: string, file: string, args: string[] = []): Promise<CgroupRun> {
  const child = spawn('/bin/sh', inCgroupArgv(cgroup, file, args), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    // 'close', not 'exit': only then has all of its output been read.
    child.on('close', (code) => resolve({ pid: child.pid ?? -1, code, stdout, stderr }));
  });
}

/** A fresh cgroup v2 directory; removed by `close()`, `using`, or when the test of `owner` ends. */
export function testCgroup(owner?: TeardownOwner): TestCgroup {
  const path = join(cgroup2Root(), uniqueName('aya-node-test-'));
  mkdirSync(path);
  const children = new Set<ChildProcess>();
  const start = (file: string, args: string[] = []) => {
    const child = spawn('/bin/sh', inCgroupArgv(path, file, args), { stdio: 'ignore' });
    children.add(child);
    child.on('exit', () => children.delete(child));
    return child;
  };
  const close = () => {
    for (const child of children) child.kill('SIGKILL');
    // A child's own children stay in the cgroup after it is killed: cgroup.kill (Linux 5.14)
    // ends every process in it, so the directory can go.
    try {
      writeFileSync(join(path, 'cgroup.kill'), '1');
    } catch {
      // older kernel, or already removed
    }
    // Up to 5 s: on a loaded machine the killed processes take a while to be reaped.
    for (let i = 0; i < 500; i++) {
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
    run: (file, args = []) => runInCgroup(path, file, args),
    close,
    [Symbol.dispose]: close,
  };
  return own(cgroup, owner);
}

// Processes tests can recognise among all others: a uniquely named executable (its name is the
// `comm` the kernel reports), started and awaited.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface UniqueExecutable extends Disposable {
  /** Full path of the executable. */
  path: string;
  /** What the kernel reports as its command name (`comm`: the first 15 bytes of its name). */
  comm: string;
  /** Runs it once; resolves with its pid after it exited. */
  run(args?: string[]): Promise<number>;
  /** Removes it. */
  close(): void;
}

/** A uniquely named link to `target` (default /bin/true) in a temporary directory. */
export function uniqueExecutable(target = '/bin/true'): UniqueExecutable {
  if (typeof target !== 'string' || target === '') throw new TypeError('target: expected the path of an executable');
  const dir = mkdtempSync(join(tmpdir(), 'aya-node-exe-'));
  const name = `t${process.pid % 100000}${Math.random().toString(36).slice(2, 8)}`;
  const path = join(dir, name);
  symlinkSync(target, path);
  const close = () => rmSync(dir, { recursive: true, force: true });
  return { path, comm: name.slice(0, 15), run: (args = []) => run(path, args), close, [Symbol.dispose]: close };
}

/** Starts `file` and returns its pid at once, with a promise for its exit. */
export function start(file: string, args: string[] = []): { pid: number; exited: Promise<number | null> } {
  const child = spawn(file, args, { stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => resolve(code));
  });
  return { pid: child.pid ?? -1, exited };
}

/** Runs `file` and resolves with the child's pid once it has exited. */
export function run(file: string, args: string[] = []): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', () => resolve(child.pid ?? -1));
  });
}

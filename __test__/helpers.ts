// Shared test helpers. Tests run as root against the real kernel.

import { execFileSync, spawn, type ExecFileSyncOptions } from 'node:child_process';
import { mkdtempSync, readdirSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Links the kernel currently has, as bpftool reports them (the kernel's own view). */
export function kernelLinks(): Array<{ id: number; prog_id: number; type: string }> {
  return JSON.parse(execFileSync('bpftool', ['link', 'show', '-j'], { encoding: 'utf8' }) || '[]');
}

/** Whether the kernel still has a program with this id loaded. */
export function kernelHasProgram(id: number): boolean {
  try {
    execFileSync('bpftool', ['prog', 'show', 'id', String(id)], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

/** A uniquely named symlink to /bin/true, so an exec of it is recognisable among others. */
export function uniqueTrue(): { path: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'aya-node-'));
  const path = join(dir, `true-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  symlinkSync('/bin/true', path);
  return { path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Starts `path` and returns its pid at once (before any event of it can be consumed, since
 * consumers run on this thread), with a promise for its exit.
 */
export function start(path: string, args: string[] = []): { pid: number; exited: Promise<void> } {
  const child = spawn(path, args, { stdio: 'ignore' });
  const exited = new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', () => resolve());
  });
  return { pid: child.pid ?? -1, exited };
}

/** Runs `path` and resolves with the child's pid once it has exited. */
export function run(path: string, args: string[] = []): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(path, args, { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', () => resolve(child.pid ?? -1));
  });
}

/**
 * The number of eBPF-related fds this process has open: programs, maps, links, BTF and
 * perf events. Other fds (pipes of child processes, the test runner's) come and go on their own.
 */
export function openBpfFds(): number {
  let count = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (/^anon_inode:(bpf|\[perf_event\]|\[eventpoll\])/.test(readlinkSync(`/proc/self/fd/${fd}`))) count++;
    } catch {
      // closed while we looked
    }
  }
  return count;
}

/** Rejects after `ms` with a message; for bounding waits on kernel events. */
export function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Runs a command, returning its stdout; on failure the error carries stdout and stderr. */
export function sh(file: string, args: string[], options: ExecFileSyncOptions = {}): string {
  try {
    return execFileSync(file, args, { encoding: 'utf8', stdio: 'pipe', ...options }) as string;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${file} ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

/** `npm` quietly (no audit, no funding notes), in `cwd`. */
export const npm = (args: string[], cwd: string) => sh('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd });

/**
 * Runs the CLI (from source) with `args` while `workload` runs (started once the CLI says it
 * is tracing); resolves with its stdout and stderr once it exits.
 */
export async function runCli(args: string[], workload: () => void | Promise<void>): Promise<{ stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import=tsx', join(__dirname, '..', 'src', 'cli.ts'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  const exited = new Promise((r) => child.on('exit', r));
  await within(20_000, `aya-node ${args.join(' ')} to start tracing`, new Promise<void>((resolve) => {
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
      if (stderr.includes('Tracing...')) resolve();
    });
  }));
  await workload();
  await within(30_000, `aya-node ${args.join(' ')} to finish`, exited);
  return { stdout, stderr };
}

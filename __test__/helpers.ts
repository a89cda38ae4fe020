// Shared test helpers. Tests run as root against the real kernel. What users' suites need too
// lives in the public kit (src/testing, `aya-node/testing`); this file adds the repository's own.

import { execFileSync, spawn, type ExecFileSyncOptions } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { uniqueExecutable, within } from '../src/testing';

/** Links the kernel currently has, as bpftool reports them (the kernel's own view). */
export function kernelLinks(): Array<{ id: number; prog_id: number; type: string }> {
  return bpftoolList('link');
}

/**
 * `bpftool <kind> show -j`. An object that goes away between bpftool's listing of ids and its
 * lookup (another test closing it) is an `{ "error": ... }` entry and exit status 255: it is
 * gone, so it is left out and the rest is the answer.
 */
export function bpftoolList<T>(kind: 'link' | 'prog'): T[] {
  let out: string;
  try {
    out = execFileSync('bpftool', [kind, 'show', '-j'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    out = String((err as { stdout?: unknown }).stdout ?? '');
    if (!out.trim().startsWith('[')) throw err;
  }
  return (JSON.parse(out || '[]') as Array<T & { error?: string }>).filter((entry) => entry.error === undefined);
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
  const exe = uniqueExecutable();
  return { path: exe.path, cleanup: () => exe.close() };
}

export { eventually, start, run, within } from '../src/testing';

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
 * is tracing); resolves with its stdout and stderr once it exits. `interrupt`: Ctrl-C (SIGINT)
 * once the workload is done, for a periodic tool whose report must cover all of a workload
 * that a busy machine may slow past any --duration.
 */
export async function runCli(args: string[], workload: () => void | Promise<void>, { interrupt = false } = {}): Promise<{ stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import=tsx', join(__dirname, '..', 'src', 'cli.ts'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  const exited = new Promise((r) => child.on('exit', r));
  await within(60_000, `aya-node ${args.join(' ')} to start tracing`, new Promise<void>((resolve) => {
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
      if (stderr.includes('Tracing...')) resolve();
    });
  }));
  await workload();
  if (interrupt) child.kill('SIGINT');
  await within(30_000, `aya-node ${args.join(' ')} to finish`, exited);
  return { stdout, stderr };
}

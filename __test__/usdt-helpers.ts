// Shared by the USDT tests (aya-node's Usdt and libbpf's usdt.bpf.h through LibbpfUsdt):
// Debian's python3 as the traced program, and the semaphore read from its memory.

import type { ExecutionContext } from 'ava';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { closeSync, copyFileSync, mkdtempSync, openSync, readFileSync, readSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { UsdtProbe } from '../src';
import { PYTHON } from './flamegraph-helpers';
import { within } from './helpers';

/** The 16-bit semaphore of `probe` in the memory of `pid`, through /proc/<pid>/maps and mem. */
export function semaphoreOf(pid: number, probe: UsdtProbe): number {
  for (const line of readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
    const [range, , off, , , ...rest] = line.trim().split(/\s+/);
    if (!range || rest.join(' ') !== probe.path) continue;
    const [start, end] = range.split('-').map((h) => BigInt(`0x${h}`));
    const offset = BigInt(`0x${off}`);
    if (probe.semaphoreOffset < offset || probe.semaphoreOffset >= offset + (end - start)) continue;
    const fd = openSync(`/proc/${pid}/mem`, 'r');
    try {
      const b = Buffer.alloc(2);
      readSync(fd, b, 0, 2, start + probe.semaphoreOffset - offset);
      return b.readUInt16LE(0);
    } finally {
      closeSync(fd);
    }
  }
  throw new Error(`no mapping of ${probe.path} holds the semaphore`);
}

/**
 * A private copy of python3 (removed at teardown). A uprobe belongs to the file: attaching to
 * every process running the copy leaves the python3 of other tests (and their semaphores) alone.
 */
export function pythonCopy(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'aya-node-python-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const copy = join(dir, 'python3');
  copyFileSync(realpathSync(PYTHON), copy);
  return copy;
}

/** A python3 child running `body` once per line written to its stdin (`round()`), printing `done` after each. */
export interface PythonRounds {
  child: ChildProcessByStdio<Writable, Readable, null>;
  pid: number;
  /** The script's path (what the probes report as the file name). */
  script: string;
  /** Lets the script run `body` once and resolves when it has. */
  round(): Promise<void>;
}

/** Starts python3 (or `python`) on a script whose loop runs `body` (indented 4 spaces) per round; killed at teardown. */
export async function pythonRounds(t: ExecutionContext, prelude: string, body: string, python = PYTHON): Promise<PythonRounds> {
  const dir = mkdtempSync(join(tmpdir(), 'aya-node-py-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const script = join(dir, 'rounds.py');
  writeFileSync(script, `import sys\n${prelude}\nwhile sys.stdin.readline().strip() == "go":\n${body}\n    print("done", flush=True)\n`);
  const child = spawn(python, [script], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.teardown(() => child.kill('SIGKILL'));
  // The interpreter has mapped itself once it reads stdin; a short wait is enough for that.
  await new Promise((r) => setTimeout(r, 300));
  return {
    child,
    pid: child.pid!,
    script,
    round: async () => {
      const done = new Promise((r) => child.stdout.once('data', r));
      child.stdin.write('go\n');
      await within(10_000, 'the python round', done);
    },
  };
}

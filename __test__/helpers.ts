// Shared test helpers. Tests run as root against the real kernel. What users' suites need too
// lives in the public kit (src/testing, `aya-node/testing`); this file adds the repository's own.

import { execFileSync } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { uniqueExecutable } from '../src/testing';

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
  const exe = uniqueExecutable();
  return { path: exe.path, cleanup: () => exe.close() };
}

export { start, run, within } from '../src/testing';

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

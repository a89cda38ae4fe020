// System call numbers to names, from the kernel headers (linux-libc-dev) when present.

import { readFileSync } from 'node:fs';

const HEADERS: Record<string, string[]> = {
  x64: ['/usr/include/x86_64-linux-gnu/asm/unistd_64.h', '/usr/include/asm/unistd_64.h'],
  arm64: ['/usr/include/aarch64-linux-gnu/asm/unistd.h', '/usr/include/asm-generic/unistd.h'],
};

let names: Map<number, string> | undefined;

/** The name of syscall `nr` on this architecture, or `syscall_<nr>` when unknown. */
export function syscallName(nr: number): string {
  if (!names) {
    names = new Map();
    for (const path of HEADERS[process.arch] ?? []) {
      try {
        for (const m of readFileSync(path, 'utf8').matchAll(/^#define __NR_(\w+)\s+(\d+)\s*$/gm)) {
          names.set(Number(m[2]), m[1]);
        }
        break;
      } catch {
        // try the next header
      }
    }
  }
  return names.get(nr) ?? `syscall_${nr}`;
}

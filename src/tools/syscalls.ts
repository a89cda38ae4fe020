// System call numbers to names, from the kernel headers (linux-libc-dev) when present, and
// where the raw-syscall tools find a syscall's number and arguments.

import { readFileSync } from 'node:fs';
import { structMemberOffset } from '../btf';
import { array, i64, u32 } from '../codec';
import { ebpfError } from '../errors';
import type { GlobalValue } from '../object';
import * as validate from '../validate';

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

/** Where the raw `sys_enter`/`sys_exit` tools find a syscall's arguments, per architecture. */
interface SyscallAbi {
  /** The `struct pt_regs` members holding arguments 0..5 (`[member, extra byte offset]`). */
  args: Array<[string, number]>;
  /** The `struct pt_regs` member holding the syscall number at exit. */
  nr: string;
  numbers: Record<(typeof SYSCALLS)[number], number>;
}

/** The syscalls whose numbers `syscallGlobals` knows. */
const SYSCALLS = ['execve', 'open', 'openat'] as const;

const ABI: Record<string, SyscallAbi> = {
  x64: {
    args: [['di', 0], ['si', 0], ['dx', 0], ['r10', 0], ['r8', 0], ['r9', 0]],
    nr: 'orig_ax',
    numbers: { execve: 59, open: 2, openat: 257 },
  },
  // arm64: x0..x5 are `regs[0..5]`; there is no `open` (-1).
  arm64: {
    args: [0, 1, 2, 3, 4, 5].map((i): [string, number] => ['regs', 8 * i]),
    nr: 'syscallno',
    numbers: { execve: 221, open: -1, openat: 56 },
  },
};

/**
 * The globals the raw-syscall tools (execsnoop, opensnoop) take: the argument registers' and
 * the syscall number's offsets in `struct pt_regs` (from the kernel's BTF) and the numbers of
 * `calls` on this architecture, as `SYS_<CALL>`.
 */
export function syscallGlobals(calls: Array<keyof SyscallAbi['numbers']>): Record<string, GlobalValue> {
  if (!Array.isArray(calls)) throw new TypeError(`calls must be an array of syscall names (${SYSCALLS.join(', ')})`);
  calls.forEach((call, i) => validate.oneOf(`calls[${i}]`, call, SYSCALLS));
  const abi = Object.hasOwn(ABI, process.arch) ? ABI[process.arch] : undefined;
  if (!abi) throw ebpfError('UNSUPPORTED', `the syscall tools know the registers of x64 and arm64, not ${process.arch}`);
  const globals: Record<string, GlobalValue> = {
    SYSCALL_ARG_OFFSETS: { codec: array(u32, 6), value: abi.args.map(([member, extra]) => structMemberOffset('pt_regs', member) + extra) },
    SYSCALL_NR_OFFSET: { codec: u32, value: structMemberOffset('pt_regs', abi.nr) },
  };
  for (const call of calls) globals[`SYS_${call.toUpperCase()}`] = { codec: i64, value: BigInt(abi.numbers[call]) };
  return globals;
}

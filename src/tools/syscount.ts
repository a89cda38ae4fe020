// syscount: system call counts and latency per syscall or per process, over intervals.

import { readFileSync } from 'node:fs';
import { struct, u32, u64 } from '../codec';
import { PerCpuHashMap } from '../maps';
import type { Ebpf } from '../object';
import { closingOnError, openTool } from './tool';
import { syscallName } from './syscalls';
import * as validate from '../validate';

/** Layout of `aya_node_common::histogram::SyscallStat`. */
const SyscallStat = struct({ count: u64, totalNs: u64 });

export interface SyscallCount {
  /** The syscall number, or the process id with `byProcess`. */
  key: number;
  /** The syscall's name, or the process's comm with `byProcess`. */
  name: string;
  count: number;
  totalNs: number;
  avgNs: number;
}

export interface SyscountOptions {
  /** Only this process. */
  pid?: number;
  /** Count per process instead of per syscall. */
  byProcess?: boolean;
  objectPath?: string;
}

function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return `pid ${pid}`;
  }
}

/**
 * Counts system calls until closed; `snapshot()` returns and resets the counts.
 *
 * ```ts
 * using sc = Syscount.open({ pid: process.pid });
 * await setTimeout(1000);
 * console.table(sc.snapshot().slice(0, 10));
 * ```
 */
export class Syscount implements Disposable {
  readonly object: Ebpf;
  readonly #stats: PerCpuHashMap<number, { count: bigint; totalNs: bigint }>;
  readonly #byProcess: boolean;

  private constructor(object: Ebpf, byProcess: boolean) {
    this.object = object;
    this.#byProcess = byProcess;
    this.#stats = object.map('STATS', PerCpuHashMap, u32, SyscallStat);
  }

  static open(options: SyscountOptions = {}): Syscount {
    options = validate.options('options', options);
    const object = openTool('syscount', [
      { program: 'syscount_enter', category: 'raw_syscalls', name: 'sys_enter' },
      { program: 'syscount_exit', category: 'raw_syscalls', name: 'sys_exit' },
    ], {
      objectPath: options.objectPath,
      globals: {
        FILTER_PID: { codec: u32, value: options.pid ?? 0 },
        BY_PROCESS: { codec: u32, value: options.byProcess ? 1 : 0 },
      },
    });
    return closingOnError(object, () => new Syscount(object, options.byProcess ?? false));
  }

  /** The counts since the last snapshot (or since open), most frequent first; resets them. */
  snapshot(): SyscallCount[] {
    const out: SyscallCount[] = [];
    for (const [key, perCpu] of this.#stats.drain()) {
      const count = Number(perCpu.reduce((sum, v) => sum + v.count, 0n));
      const totalNs = Number(perCpu.reduce((sum, v) => sum + v.totalNs, 0n));
      const name = this.#byProcess ? comm(key) : syscallName(key);
      out.push({ key, name, count, totalNs, avgNs: count ? totalNs / count : 0 });
    }
    return out.sort((a, b) => b.count - a.count);
  }

  close(): void {
    this.object.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

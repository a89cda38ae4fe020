// syscount: system call counts and latency per syscall or per process, over intervals.

import { readFileSync } from 'node:fs';
import { struct, u32, u64 } from '../codec';
import { PerCpuHashMap } from '../maps';
import { invalidArgument } from '../errors';
import type { Ebpf } from '../object';
import { closingOnError, openTool } from './tool';
import { syscallName } from './syscalls';

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

function sumStats(perCpu: Array<{ count: bigint; totalNs: bigint }>): { count: number; totalNs: number } {
  let count = 0n;
  let totalNs = 0n;
  for (const v of perCpu) {
    count += v.count;
    totalNs += v.totalNs;
  }
  return { count: Number(count), totalNs: Number(totalNs) };
}

/** The command name of a running process, `undefined` once it exited. */
export function processComm(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function comm(pid: number): string {
  return processComm(pid) ?? `pid ${pid}`;
}

/**
 * Counts system calls until closed; `snapshot()` returns and resets the counts, `counts()`
 * returns everything since open (for cumulative metrics) without resetting.
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
  /** What `snapshot()` drained, by key, so `counts()` stays monotonic. */
  readonly #retired = new Map<number, { count: number; totalNs: number }>();
  /** `counts()` names processes once, while they run (they keep the name after they exit). */
  readonly #names = new Map<number, string>();

  private constructor(object: Ebpf, byProcess: boolean) {
    this.object = object;
    this.#byProcess = byProcess;
    this.#stats = object.map('STATS', PerCpuHashMap, u32, SyscallStat);
  }

  static open(options: SyscountOptions = {}): Syscount {
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
      const { count, totalNs } = sumStats(perCpu);
      const retired = this.#retired.get(key);
      // Drained counts of exited processes are not kept: memory follows the live processes.
      if (this.#byProcess && processComm(key) === undefined) {
        this.#retired.delete(key);
        this.#names.delete(key);
      } else if (retired) {
        retired.count += count;
        retired.totalNs += totalNs;
      } else {
        this.#retired.set(key, { count, totalNs });
      }
      out.push(this.#entry(key, count, totalNs));
    }
    return out.sort((a, b) => b.count - a.count);
  }

  /**
   * Every count since open (never reset; what `snapshot()` drained included), most frequent
   * first: each key's `count` and `totalNs` only grow, until `forget(key)` (with `byProcess`,
   * a process that exited also drops out when `snapshot()` drains it).
   */
  counts(): SyscallCount[] {
    const totals = new Map<number, { count: number; totalNs: number }>();
    for (const [key, retired] of this.#retired) totals.set(key, { ...retired });
    for (const [key, perCpu] of this.#stats.entries()) {
      const { count, totalNs } = sumStats(perCpu);
      const t = totals.get(key);
      if (t) {
        t.count += count;
        t.totalNs += totalNs;
      } else {
        totals.set(key, { count, totalNs });
      }
    }
    return [...totals].map(([key, t]) => this.#entry(key, t.count, t.totalNs, this.#byProcess ? this.#name(key) : undefined)).sort((a, b) => b.count - a.count);
  }

  /**
   * Drops a key (a syscall number, or a process id with `byProcess`) from the kernel map and
   * from `counts()`: with `byProcess`, for processes that exited, so the map (4096 entries)
   * keeps room for new ones.
   */
  forget(key: number): void {
    if (!Number.isInteger(key) || key < 0 || key > 0xffffffff) throw invalidArgument(`key must be a u32, got ${key}`);
    this.#stats.delete(key);
    this.#retired.delete(key);
    this.#names.delete(key);
  }

  /** Whether the keys are process ids (`byProcess`) rather than syscall numbers. */
  get byProcess(): boolean {
    return this.#byProcess;
  }

  #name(pid: number): string {
    let name = this.#names.get(pid);
    if (name === undefined) {
      name = processComm(pid);
      if (name === undefined) return `pid ${pid}`;
      this.#names.set(pid, name);
    }
    return name;
  }

  #entry(key: number, count: number, totalNs: number, known?: string): SyscallCount {
    const name = known ?? (this.#byProcess ? comm(key) : syscallName(key));
    return { key, name, count, totalNs, avgNs: count ? totalNs / count : 0 };
  }

  close(): void {
    this.object.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

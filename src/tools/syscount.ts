// syscount: system call counts and latency per syscall or per process, over intervals.

import { readFileSync } from 'node:fs';
import { cstring, struct, u32, u64 } from '../codec';
import { PerCpuHashMap } from '../maps';
import { invalidArgument } from '../errors';
import type { Ebpf } from '../object';
import { closingOnError, ObjectTool, openTool, pidOption } from './tool';
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
  /**
   * Count per syscall and also per command name, in the same pass (half the cost of two
   * Syscounts): `commCounts()` reads them. The name is taken at each syscall, so a process that
   * execs is counted under each name it ran as, and exited processes keep theirs. Not with `byProcess`.
   */
  alsoByComm?: boolean;
  /**
   * Count without timing (`totalNs` stays 0): one program per syscall instead of two and no
   * start time per thread, about half the cost per syscall.
   */
  countOnly?: boolean;
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

/** Syscall counts of one command name (`Syscount.commCounts()`). */
export interface CommSyscallCount {
  comm: string;
  count: number;
  totalNs: number;
  avgNs: number;
}

type Stats = PerCpuHashMap<number, { count: bigint; totalNs: bigint }>;

/**
 * One kernel map of counts, keyed by syscall number or process id, with what `snapshot()`
 * drained kept aside so `counts()` never goes down.
 */
class CountTable {
  readonly #stats: Stats;
  readonly #byProcess: boolean;
  /** What `snapshot()` drained, by key. */
  readonly #retired = new Map<number, { count: number; totalNs: number }>();
  /** The last name each process was seen running as (kept after it exits). */
  readonly #names = new Map<number, string>();

  constructor(stats: Stats, byProcess: boolean) {
    this.#stats = stats;
    this.#byProcess = byProcess;
  }

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
      out.push(entry(key, this.#byProcess ? comm(key) : syscallName(key), count, totalNs));
    }
    return out.sort((a, b) => b.count - a.count);
  }

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
    return [...totals]
      .map(([key, t]) => entry(key, this.#byProcess ? this.#name(key) : syscallName(key), t.count, t.totalNs))
      .sort((a, b) => b.count - a.count);
  }

  forget(key: number): void {
    if (!Number.isInteger(key) || key < 0 || key > 0xffffffff) throw invalidArgument(`key must be a u32, got ${key}`);
    this.#stats.delete(key);
    this.#retired.delete(key);
    this.#names.delete(key);
  }

  /** The process's name now (it changes on exec), or the last one seen once it exited. */
  #name(pid: number): string {
    const name = processComm(pid);
    if (name === undefined) return this.#names.get(pid) ?? `pid ${pid}`;
    this.#names.set(pid, name);
    return name;
  }
}

function entry(key: number, name: string, count: number, totalNs: number): SyscallCount {
  return { key, name, count, totalNs, avgNs: count ? totalNs / count : 0 };
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
export class Syscount extends ObjectTool {
  readonly #byProcess: boolean;
  readonly #table: CountTable;
  readonly #comms: PerCpuHashMap<string, { count: bigint; totalNs: bigint }> | undefined;
  readonly #countOnly: boolean;

  private constructor(object: Ebpf, byProcess: boolean, alsoByComm: boolean, countOnly: boolean) {
    super(object);
    this.#byProcess = byProcess;
    this.#countOnly = countOnly;
    this.#table = new CountTable(object.map('STATS', PerCpuHashMap, u32, SyscallStat), byProcess);
    this.#comms = alsoByComm ? object.map('COMM_STATS', PerCpuHashMap, cstring(16), SyscallStat) : undefined;
  }

  static open(options: SyscountOptions = {}): Syscount {
    options = validate.options('options', options);
    if (options.byProcess && options.alsoByComm) throw invalidArgument('byProcess and alsoByComm exclude each other');
    const enter = { program: 'syscount_enter', tracepoint: 'sys_enter' };
    const exit = { program: 'syscount_exit', tracepoint: 'sys_exit' };
    const object = openTool('syscount', options.countOnly ? [enter] : [enter, exit], {
      objectPath: options.objectPath,
      globals: {
        FILTER_PID: { codec: u32, value: pidOption(options.pid) ?? 0 },
        BY_PROCESS: { codec: u32, value: options.byProcess ? 1 : 0 },
        // Only set when asked, so objects built before these flags still load.
        ...(options.alsoByComm ? { ALSO_BY_COMM: { codec: u32, value: 1 } } : {}),
        ...(options.countOnly ? { COUNT_ONLY: { codec: u32, value: 1 } } : {}),
      },
    });
    return closingOnError(object, () => new Syscount(object, options.byProcess ?? false, options.alsoByComm ?? false, options.countOnly ?? false));
  }

  /** The counts since the last snapshot (or since open), most frequent first; resets them. */
  snapshot(): SyscallCount[] {
    return this.#table.snapshot();
  }

  /**
   * Every count since open (never reset; what `snapshot()` drained included), most frequent
   * first: each key's `count` and `totalNs` only grow, until `forget(key)` (with `byProcess`,
   * a process that exited also drops out when `snapshot()` drains it).
   */
  counts(): SyscallCount[] {
    return this.#table.counts();
  }

  /**
   * Drops a key (a syscall number, or a process id with `byProcess`) from the kernel map and
   * from `counts()`: with `byProcess`, for processes that exited, so the map (4096 entries)
   * keeps room for new ones.
   */
  forget(key: number): void {
    this.#table.forget(key);
  }

  /** Whether the keys are process ids (`byProcess`) rather than syscall numbers. */
  get byProcess(): boolean {
    return this.#byProcess;
  }

  /** Whether syscalls are counted without timing (`countOnly`). */
  get countOnly(): boolean {
    return this.#countOnly;
  }

  /** Whether counts per command name are kept too (`alsoByComm`). */
  get alsoByComm(): boolean {
    return this.#comms !== undefined;
  }

  /**
   * With `alsoByComm`: every count per command name since open (never reset), most frequent
   * first. Names stay in the kernel map (8192 of them) until the tool is closed.
   */
  commCounts(): CommSyscallCount[] {
    if (!this.#comms) throw invalidArgument('this Syscount was opened without alsoByComm');
    const out: CommSyscallCount[] = [];
    for (const [comm, perCpu] of this.#comms.entries()) {
      const { count, totalNs } = sumStats(perCpu);
      out.push({ comm, count, totalNs, avgNs: count ? totalNs / count : 0 });
    }
    return out.sort((a, b) => b.count - a.count);
  }
}

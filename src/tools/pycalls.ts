// pycalls: Python function calls by name, through the USDT probes of a CPython built with
// --with-dtrace (Debian's and Fedora's are): `python:function__return` (once per call; 3.11's
// function__entry misses frames its eval loop enters without C recursion).

import { readFileSync, readlinkSync } from 'node:fs';
import { cstring, u32, u64 } from '../codec';
import { ebpfError } from '../errors';
import { PerCpuHashMap } from '../maps';
import { Ebpf } from '../object';
import { Usdt, usdtProbes } from '../programs/usdt';
import { bundledObjectPath } from './objects';
import { closingOnError, ObjectTool, pidOption } from './tool';
import * as validate from '../validate';

export interface PyCallsOptions {
  /** The Python process to trace. */
  pid: number;
  objectPath?: string;
}

export interface PyCallCount {
  name: string;
  count: number;
}

const PROBE = 'function__return';

/** The file of process `pid` with CPython's USDT probes: its executable or a mapped libpython. */
export function pythonWithProbes(pid: number): string {
  validate.u32('pid', pid);
  const candidates: string[] = [];
  try {
    candidates.push(readlinkSync(`/proc/${pid}/exe`));
    for (const line of readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
      const path = line.trim().split(/\s+/).slice(5).join(' ');
      if (/\/libpython[^/]*\.so/.test(path) && !candidates.includes(path)) candidates.push(path);
    }
  } catch {
    throw ebpfError('NOT_FOUND', `no process ${pid} (or its memory map is not readable)`);
  }
  for (const path of candidates) {
    try {
      if (usdtProbes(path).some((p) => p.provider === 'python' && p.name === PROBE)) return path;
    } catch {
      // not an ELF we can read: try the next
    }
  }
  throw ebpfError('NOT_FOUND', `process ${pid} runs no Python with USDT probes (looked in ${candidates.join(', ')}); CPython must be built --with-dtrace`);
}

/**
 * Counts the Python function calls of one process until closed.
 *
 * ```ts
 * using calls = PyCalls.open({ pid });
 * await setTimeout(5000);
 * console.table(calls.counts().slice(0, 10));
 * ```
 */
export class PyCalls extends ObjectTool {
  readonly #calls: PerCpuHashMap<string, bigint>;

  private constructor(object: Ebpf) {
    super(object);
    this.#calls = object.map('CALLS', PerCpuHashMap, cstring(64), u64);
  }

  static open(options: PyCallsOptions): PyCalls {
    options = validate.options('options', options);
    if (options.pid === undefined) throw new TypeError('options.pid must be a number, got undefined');
    const pid = pidOption(options.pid)!;
    const target = pythonWithProbes(pid);
    const object = Ebpf.load(options.objectPath ?? bundledObjectPath('usdt_calls'), {
      // function__return's arguments: file name, function name, line.
      globals: { STRING_ARG: { codec: u32, value: 1 }, FILTER_PID: { codec: u32, value: pid } },
    });
    return closingOnError(object, () => {
      object.program('usdt_calls', Usdt).attach({ target, provider: 'python', name: PROBE, pid });
      return new PyCalls(object);
    });
  }

  /** Calls per function name so far, most first; `reset` starts counting again. */
  counts({ reset = false }: { reset?: boolean } = {}): PyCallCount[] {
    const out: PyCallCount[] = [];
    for (const [name, perCpu] of this.#calls.entries()) out.push({ name, count: Number(perCpu.reduce((a, b) => a + b, 0n)) });
    if (reset) for (const { name } of out) this.#calls.delete(name);
    return out.sort((a, b) => b.count - a.count || (a.name < b.name ? -1 : 1));
  }
}

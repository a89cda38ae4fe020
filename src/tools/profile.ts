// profile: on-CPU stack sampling through perf events, as folded stacks for flame graphs.

import { cstring, i32, struct, u32, u64 } from '../codec';
import { PerCpuHashMap, StackTraceMap, resolveKernelAddresses } from '../maps';
import { Ebpf } from '../object';
import { PerfEvent } from '../programs';
import { bundledObjectPath } from './objects';
import { processMappings, symbolizeUser } from './symbolize';
import { closingOnError } from './tool';
import * as validate from '../validate';

/** Layout of `aya_node_common::histogram::ProfileKey`. */
const ProfileKey = struct({ pid: u32, userStackId: i32, kernelStackId: i32, _pad: u32, comm: cstring(16) });

export interface ProfileOptions {
  /** Samples per second per CPU (default 49). */
  frequency?: number;
  /** Only this process. */
  pid?: number;
  objectPath?: string;
}

export interface StackSample {
  pid: number;
  comm: string;
  /** Outermost frame first: user frames, then kernel frames. */
  frames: string[];
  count: number;
}

/**
 * Samples on-CPU stacks on every CPU until closed; `stacks()` resolves what was sampled.
 *
 * ```ts
 * using p = Profile.open({ frequency: 99 });
 * await setTimeout(5000);
 * process.stdout.write(p.folded());
 * ```
 */
export class Profile implements Disposable {
  readonly object: Ebpf;
  readonly #counts: PerCpuHashMap<{ pid: number; userStackId: number; kernelStackId: number; _pad: number; comm: string }, bigint>;
  readonly #stacks: StackTraceMap;

  private constructor(object: Ebpf) {
    this.object = object;
    this.#counts = object.map('COUNTS', PerCpuHashMap, ProfileKey, u64);
    this.#stacks = object.map('STACKS', StackTraceMap);
  }

  static open(options: ProfileOptions = {}): Profile {
    options = validate.options('options', options);
    const object = Ebpf.load(options.objectPath ?? bundledObjectPath('profile'), {
      globals: { FILTER_PID: { codec: u32, value: options.pid ?? 0 } },
    });
    return closingOnError(object, () => {
      object.program('profile', PerfEvent).attach({ event: 'cpu-clock', frequency: options.frequency ?? 49 });
      return new Profile(object);
    });
  }

  /** The sampled stacks, symbolized, most frequent first. */
  stacks(): StackSample[] {
    const out: StackSample[] = [];
    const mappings = new Map<number, ReturnType<typeof processMappings>>();
    for (const [key, perCpu] of this.#counts.entries()) {
      const count = Number(perCpu.reduce((sum, v) => sum + v, 0n));
      if (count === 0) continue;
      const frames: string[] = [];
      if (key.userStackId >= 0) {
        const addresses = this.#stacks.get(key.userStackId) ?? [];
        if (!mappings.has(key.pid)) mappings.set(key.pid, processMappings(key.pid));
        frames.push(...symbolizeUser(addresses, mappings.get(key.pid)!).reverse());
      }
      if (key.kernelStackId >= 0) {
        const addresses = this.#stacks.get(key.kernelStackId) ?? [];
        const symbols = resolveKernelAddresses(addresses);
        frames.push(...addresses.map((a, i) => symbols[i]?.name ?? `0x${a.toString(16)}`).reverse());
      }
      out.push({ pid: key.pid, comm: key.comm, frames, count });
    }
    return out.sort((a, b) => b.count - a.count);
  }

  /** Folded stacks (`comm;frame;frame count` per line), the input of flamegraph.pl and friends. */
  folded(): string {
    return this.stacks()
      .map((s) => `${[s.comm, ...s.frames].join(';')} ${s.count}\n`)
      .join('');
  }

  close(): void {
    this.object.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

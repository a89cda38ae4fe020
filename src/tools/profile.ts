// profile: on-CPU stack sampling through perf events, as folded stacks, an SVG flame graph or
// speedscope JSON. JavaScript frames come from the perf map V8 writes (`--perf-basic-prof`).

import { cstring, i32, struct, u32, u64 } from '../codec';
import { PerCpuHashMap, StackTraceMap } from '../maps';
import { Ebpf } from '../object';
import { PerfEvent } from '../programs';
import { flameGraphSvg, foldedStacks, speedscopeJson, type FlameGraphOptions, type WeightedStack } from './flamegraph';
import { bundledObjectPath } from './objects';
import { StackResolver } from './stacks';
import { frameLabel, type Frame } from './symbolize';
import { closingOnError, ObjectTool, pidOption } from './tool';
import * as validate from '../validate';

/** Layout of `aya_node_common::histogram::ProfileKey`. */
export const ProfileKey = struct({ pid: u32, userStackId: i32, kernelStackId: i32, _pad: u32, comm: cstring(16) });

export type ProfileKeyValue = { pid: number; userStackId: number; kernelStackId: number; _pad: number; comm: string };

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
  /** Outermost frame first: user frames, then kernel frames (as `frameLabel` shows them). */
  frames: string[];
  /** The same frames with what is known of each: kind, file and line of JavaScript. */
  frameInfo: Frame[];
  /** Samples (`Profile`) or nanoseconds blocked (`OffCpu`). */
  count: number;
}

/**
 * What the stack tools share: a `COUNTS` per-CPU hash of `ProfileKey` → weight and the
 * `STACKS` it refers to, read into symbolized stacks and rendered as flame graphs.
 */
export abstract class StackCounts extends ObjectTool {
  readonly #counts: PerCpuHashMap<ProfileKeyValue, bigint>;
  readonly #resolver: StackResolver;
  /** What a count is. */
  protected abstract readonly unit: 'samples' | 'nanoseconds';
  protected abstract readonly title: string;

  protected constructor(object: Ebpf) {
    super(object);
    this.#counts = object.map('COUNTS', PerCpuHashMap, ProfileKey, u64);
    this.#resolver = new StackResolver(object.map('STACKS', StackTraceMap));
  }

  /** The stacks so far, symbolized (JavaScript through perf maps), heaviest first. */
  stacks(): StackSample[] {
    this.#resolver.refresh();
    const totals = new Map<string, { key: ProfileKeyValue; count: bigint }>();
    const add = (key: ProfileKeyValue, count: bigint) => {
      const id = `${key.pid}/${key.userStackId}/${key.kernelStackId}/${key.comm}`;
      const entry = totals.get(id);
      if (entry) entry.count += count;
      else totals.set(id, { key, count });
    };
    for (const [key, perCpu] of this.#counts.entries()) add(key, perCpu.reduce((sum, v) => sum + v, 0n));
    for (const [key, count] of this.pending()) add(key, count);
    const out: StackSample[] = [];
    for (const { key, count } of totals.values()) {
      if (count === 0n) continue;
      const frameInfo = this.#resolver.frames(key.pid, key.comm, key.userStackId, key.kernelStackId).slice(1);
      out.push({ pid: key.pid, comm: key.comm, frames: frameInfo.map(frameLabel), frameInfo, count: Number(count) });
    }
    return out.sort((a, b) => b.count - a.count);
  }

  /** Weights not in `COUNTS` yet (e.g. threads still blocked), added to `stacks()`. */
  protected pending(): Array<[ProfileKeyValue, bigint]> {
    return [];
  }

  /**
   * Lines worth telling the user about the last `stacks()`: a Node.js process seen without a
   * perf map (its JavaScript shows as addresses) and how to start it with one.
   */
  notices(): string[] {
    return this.#resolver.notices();
  }

  /** Folded stacks (`comm;frame;frame count` per line), the input of flamegraph.pl and friends. */
  folded(stacks: StackSample[] = this.stacks()): string {
    return foldedStacks(toWeighted(stacks));
  }

  /** A self-contained interactive SVG flame graph. */
  svg(stacks: StackSample[] = this.stacks(), options: FlameGraphOptions = {}): string {
    return flameGraphSvg(toWeighted(stacks), { title: this.title, unit: this.unit, ...options, notes: [...this.notices(), ...(options.notes ?? [])] });
  }

  /** speedscope's JSON file format, one profile per process. */
  speedscope(stacks: StackSample[] = this.stacks()): string {
    return speedscopeJson(toWeighted(stacks), { name: `aya-node ${this.title}`, unit: this.unit });
  }
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
export class Profile extends StackCounts {
  protected readonly unit = 'samples';
  protected readonly title = 'CPU flame graph';

  static open(options: ProfileOptions = {}): Profile {
    options = validate.options('options', options);
    const object = Ebpf.load(options.objectPath ?? bundledObjectPath('profile'), {
      globals: { FILTER_PID: { codec: u32, value: pidOption(options.pid) ?? 0 } },
    });
    return closingOnError(object, () => {
      object.program('profile', PerfEvent).attach({ event: 'cpu-clock', frequency: options.frequency ?? 49 });
      return new Profile(object);
    });
  }
}

/** Samples as weighted stacks rooted at the process (`comm`). */
export function toWeighted(samples: StackSample[]): WeightedStack[] {
  return samples.map((s) => ({ frames: [{ name: s.comm, kind: 'process' }, ...s.frameInfo], weight: s.count, pid: s.pid, comm: s.comm }));
}

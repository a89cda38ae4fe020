// offcpu: where threads wait. Time blocked (sleeping in S or D state, from sched_switch out to
// sched_switch back in), by the user and kernel stacks they blocked in, in the same outputs as
// `profile`: folded stacks (nanoseconds), SVG flame graph, speedscope. From the raw
// `sched_switch` tracepoint (no tracefs needed).

import { struct, u32, u64 } from '../codec';
import { HashMap } from '../maps';
import { Ebpf } from '../object';
import { RawTracePoint } from '../programs';
import { bundledObjectPath } from './objects';
import { ProfileKey, StackCounts, type ProfileKeyValue } from './profile';
import { closingOnError, pidOption } from './tool';
import * as validate from '../validate';
import { taskGlobals } from './task';

export interface OffCpuOptions {
  /** Only this process (recommended: every blocked thread of the machine adds up quickly). */
  pid?: number;
  /** Leave out blocks shorter than this many microseconds (default 0). */
  minBlockUs?: number;
  objectPath?: string;
}

/**
 * Times blocked threads until closed; `stacks()` gives nanoseconds blocked per stack.
 *
 * ```ts
 * using off = OffCpu.open({ pid });
 * await setTimeout(5000);
 * writeFileSync('wait.svg', off.svg());
 * ```
 */
export class OffCpu extends StackCounts {
  protected readonly unit = 'nanoseconds';
  protected readonly title = 'Off-CPU time flame graph';
  readonly #blocked = this.object.map('BLOCKED', HashMap, u32, struct({ since: u64, key: ProfileKey }));

  /** Threads blocked right now count with the time so far (a thread that never wakes still shows). */
  protected override pending(): Array<[ProfileKeyValue, bigint]> {
    // bpf_ktime_get_ns() and process.hrtime() both read CLOCK_MONOTONIC.
    const now = process.hrtime.bigint();
    const out: Array<[ProfileKeyValue, bigint]> = [];
    for (const [, b] of this.#blocked.entries()) if (now > b.since) out.push([b.key, now - b.since]);
    return out;
  }

  static open(options: OffCpuOptions = {}): OffCpu {
    options = validate.options('options', options);
    const { minBlockUs = 0 } = options;
    const pid = pidOption(options.pid);
    if (!Number.isFinite(minBlockUs) || minBlockUs < 0) throw new RangeError('OffCpu.open: `minBlockUs` must be a non-negative number');
    const object = Ebpf.load(options.objectPath ?? bundledObjectPath('offcpu'), {
      globals: {
        FILTER_PID: { codec: u32, value: pid ?? 0 },
        MIN_BLOCK_NS: { codec: u64, value: BigInt(Math.round(minBlockUs * 1000)) },
        ...taskGlobals(),
      },
    });
    return closingOnError(object, () => {
      object.program('offcpu_switch', RawTracePoint).attach('sched_switch');
      return new OffCpu(object);
    });
  }
}

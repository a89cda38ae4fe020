// offcpu: where threads wait. Time blocked (sleeping in S or D state, from sched_switch out to
// sched_switch back in), by the user and kernel stacks they blocked in, in the same outputs as
// `profile`: folded stacks (nanoseconds), SVG flame graph, speedscope.

import { u32, u64 } from '../codec';
import { Ebpf } from '../object';
import { TracePoint } from '../programs';
import { bundledObjectPath } from './objects';
import { StackCounts } from './profile';
import { closingOnError } from './tool';

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

  static open(options: OffCpuOptions = {}): OffCpu {
    const { pid, minBlockUs = 0 } = options;
    if (pid !== undefined && (!Number.isSafeInteger(pid) || pid <= 0)) throw new RangeError('OffCpu.open: `pid` must be a positive integer');
    if (!Number.isFinite(minBlockUs) || minBlockUs < 0) throw new RangeError('OffCpu.open: `minBlockUs` must be a non-negative number');
    const object = Ebpf.load(options.objectPath ?? bundledObjectPath('offcpu'), {
      globals: {
        FILTER_PID: { codec: u32, value: pid ?? 0 },
        MIN_BLOCK_NS: { codec: u64, value: BigInt(Math.round(minBlockUs * 1000)) },
      },
    });
    return closingOnError(object, () => {
      object.program('offcpu_switch', TracePoint).attach('sched', 'sched_switch');
      return new OffCpu(object);
    });
  }
}

// biolatency and runqlat: latency histograms kept in the kernel, read on demand.

import { u32, u64 } from '../codec';
import { PerCpuArray } from '../maps';
import { log2Histogram, type Histogram } from './histogram';
import type { Ebpf } from '../object';
import { closingOnError, openTool } from './tool';
import * as validate from '../validate';

/** Shared by the latency tools: one per-CPU log2 histogram map, summed and reset on read. */
class LatencyTool implements Disposable {
  readonly object: Ebpf;
  readonly #hist: PerCpuArray<bigint>;

  protected constructor(object: Ebpf, histogram: string) {
    this.object = object;
    this.#hist = closingOnError(object, () => object.map(histogram, PerCpuArray, u64));
  }

  /** The histogram of latencies in microseconds since the last `reset` (or open). */
  histogram(options: { reset?: boolean } = {}): Histogram {
    options = validate.options('options', options);
    const counts: number[] = [];
    for (const [bucket, perCpu] of this.#hist.entries()) {
      counts[bucket] = Number(perCpu.reduce((sum, v) => sum + v, 0n));
      if (options.reset) this.#hist.set(bucket, perCpu.map(() => 0n));
    }
    return log2Histogram(counts, 'usecs');
  }

  close(): void {
    this.object.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Block I/O latency, from `block:block_rq_issue` to `block:block_rq_complete`. */
export class Biolatency extends LatencyTool {
  static open(options: { objectPath?: string } = {}): Biolatency {
    options = validate.options('options', options);
    const object = openTool('latency', [
      { program: 'bio_issue', category: 'block', name: 'block_rq_issue' },
      { program: 'bio_complete', category: 'block', name: 'block_rq_complete' },
    ], { objectPath: options.objectPath });
    return new Biolatency(object, 'BIO_HIST');
  }
}

/** Run-queue latency: from a task's wake-up (or preemption) until it runs. */
export class Runqlat extends LatencyTool {
  static open(options: { pid?: number; objectPath?: string } = {}): Runqlat {
    options = validate.options('options', options);
    const object = openTool('latency', [
      { program: 'runq_wakeup', category: 'sched', name: 'sched_wakeup' },
      { program: 'runq_wakeup', category: 'sched', name: 'sched_wakeup_new' },
      { program: 'runq_switch', category: 'sched', name: 'sched_switch' },
    ], { objectPath: options.objectPath, globals: { FILTER_PID: { codec: u32, value: options.pid ?? 0 } } });
    return new Runqlat(object, 'RUNQ_HIST');
  }
}

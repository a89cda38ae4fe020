// biolatency and runqlat: latency histograms kept in the kernel, read on demand.

import { u32, u64 } from '../codec';
import { PerCpuArray } from '../maps';
import { HISTOGRAM_BUCKETS, log2Histogram, type Histogram } from './histogram';
import type { Ebpf } from '../object';
import { closingOnError, ObjectTool, openTool, pidOption } from './tool';
import * as validate from '../validate';
import { taskGlobals } from './task';

/** Every bucket of a log2 histogram since the tool was opened, as `LatencyTool.totals()` reads it. */
export interface LatencyTotals {
  /** `counts[i]`: latencies in `[2^i, 2^(i+1))` microseconds (bucket 0 also holds 0); all 64 buckets. */
  counts: number[];
  /** Number of latencies recorded (the sum of `counts`). */
  count: number;
  /** Sum of the recorded latencies in nanoseconds (0 for an object without the sum map). */
  sumNs: number;
}

/**
 * Shared by the latency tools: one per-CPU log2 histogram map (and the sum of its latencies),
 * summed over CPUs on read.
 */
class LatencyTool extends ObjectTool {
  readonly #hist: PerCpuArray<bigint>;
  readonly #sum: PerCpuArray<bigint> | undefined;
  /** What `histogram({ reset: true })` took out of the maps, so `totals()` stays monotonic. */
  readonly #retired: LatencyTotals = { counts: new Array<number>(HISTOGRAM_BUCKETS).fill(0), count: 0, sumNs: 0 };

  protected constructor(object: Ebpf, histogram: string, sum: string) {
    super(object);
    this.#hist = closingOnError(object, () => object.map(histogram, PerCpuArray, u64));
    // Objects built before the sum map existed (a custom objectPath) still load: no sum then.
    this.#sum = object.maps.some((m) => m.name === sum) ? closingOnError(object, () => object.map(sum, PerCpuArray, u64)) : undefined;
  }

  /** The buckets and sum in the maps now, summed over CPUs; zeroes them with `reset`. */
  #read(reset: boolean): LatencyTotals {
    const counts = new Array<number>(HISTOGRAM_BUCKETS).fill(0);
    for (const [bucket, perCpu] of this.#hist.entries()) {
      if (bucket >= HISTOGRAM_BUCKETS) continue;
      counts[bucket] = Number(perCpu.reduce((sum, v) => sum + v, 0n));
      if (reset) this.#hist.set(bucket, perCpu.map(() => 0n));
    }
    let sumNs = 0;
    const perCpu = this.#sum?.get(0);
    if (perCpu) {
      sumNs = Number(perCpu.reduce((sum, v) => sum + v, 0n));
      if (reset) this.#sum!.set(0, perCpu.map(() => 0n));
    }
    return { counts, count: counts.reduce((a, b) => a + b, 0), sumNs };
  }

  /**
   * The histogram of latencies in microseconds since the last `reset` (or open): the non-empty
   * range of buckets, and `sum` (in microseconds) when the object keeps one.
   */
  histogram(options: { reset?: boolean } = {}): Histogram {
    const now = this.#read(options.reset ?? false);
    if (options.reset) {
      now.counts.forEach((c, i) => (this.#retired.counts[i] += c));
      this.#retired.count += now.count;
      this.#retired.sumNs += now.sumNs;
    }
    const hist = log2Histogram(now.counts, 'usecs');
    return this.#sum ? { ...hist, sum: now.sumNs / 1000 } : hist;
  }

  /**
   * Everything recorded since open, never reset (what `histogram({ reset: true })` cleared is
   * kept): every bucket, the count and the sum, for cumulative metrics.
   */
  totals(): LatencyTotals {
    const now = this.#read(false);
    return {
      counts: now.counts.map((c, i) => c + this.#retired.counts[i]),
      count: now.count + this.#retired.count,
      sumNs: now.sumNs + this.#retired.sumNs,
    };
  }
}

/** Block I/O latency, from `block_rq_issue` to `block_rq_complete` (raw tracepoints), per request. */
export class Biolatency extends LatencyTool {
  static open(options: { objectPath?: string } = {}): Biolatency {
    options = validate.options('options', options);
    const object = openTool('latency', [
      { program: 'bio_issue', tracepoint: 'block_rq_issue' },
      { program: 'bio_complete', tracepoint: 'block_rq_complete' },
    ], { objectPath: options.objectPath });
    return new Biolatency(object, 'BIO_HIST', 'BIO_SUM');
  }
}

/** Run-queue latency: from a task's wake-up (or preemption) until it runs. */
export class Runqlat extends LatencyTool {
  static open(options: { pid?: number; objectPath?: string } = {}): Runqlat {
    options = validate.options('options', options);
    const object = openTool('latency', [
      { program: 'runq_wakeup', tracepoint: 'sched_wakeup' },
      { program: 'runq_wakeup', tracepoint: 'sched_wakeup_new' },
      { program: 'runq_switch', tracepoint: 'sched_switch' },
    ], { objectPath: options.objectPath, globals: { FILTER_PID: { codec: u32, value: pidOption(options.pid) ?? 0 }, ...taskGlobals() } });
    return new Runqlat(object, 'RUNQ_HIST', 'RUNQ_SUM');
  }
}

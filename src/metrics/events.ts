// Metrics counted in the process from events (tcplife, execsnoop): the kernel hands over each
// event once, so totals are kept here rather than read from a map.

import { checkBounds, checkOptions, SeriesIndex, toNumber, type CounterMetric, type HistogramMetric, type HistogramSample, type Labels, type MetricOptions, type ValueSample } from './metric';

/** A counter incremented by the program: `inc(labels, by)`. */
export class EventCounter implements CounterMetric {
  readonly type = 'counter';
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly #series: SeriesIndex;
  readonly #values = new Map<string, ValueSample>();

  constructor(options: MetricOptions) {
    const o = checkOptions(options, 'counter');
    this.name = o.name;
    this.help = o.help;
    this.labelNames = o.labelNames;
    this.#series = new SeriesIndex(o.labelNames, o.maxSeries);
  }

  inc(labels: Labels = {}, by: number | bigint = 1): void {
    const n = toNumber(by);
    if (n < 0) throw new RangeError(`by must not be negative, got ${n}`);
    const [key, l] = this.#series.key(labels);
    const s = this.#values.get(key);
    if (s) s.value += n;
    else this.#values.set(key, { labels: l, value: n });
  }

  collect(): ValueSample[] {
    return [...this.#values.values()].map((s) => ({ ...s }));
  }
}

/** A histogram fed by the program: `observe(labels, value)`. */
export class EventHistogram implements HistogramMetric {
  readonly type = 'histogram';
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly bounds: readonly number[];
  readonly #series: SeriesIndex;
  readonly #values = new Map<string, { labels: Labels; counts: number[]; sum: number }>();

  constructor(options: MetricOptions & { bounds: readonly number[] }) {
    const o = checkOptions(options, 'histogram');
    this.name = o.name;
    this.help = o.help;
    this.labelNames = o.labelNames;
    this.bounds = checkBounds(options.bounds);
    this.#series = new SeriesIndex(o.labelNames, o.maxSeries);
  }

  observe(labels: Labels, value: number): void {
    if (typeof value !== 'number' || Number.isNaN(value)) throw new TypeError(`value must be a number, got ${String(value)}`);
    const [key, l] = this.#series.key(labels);
    let s = this.#values.get(key);
    if (!s) this.#values.set(key, (s = { labels: l, counts: new Array<number>(this.bounds.length + 1).fill(0), sum: 0 }));
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]) i++;
    s.counts[i]++;
    s.sum += value;
  }

  collect(): HistogramSample[] {
    return [...this.#values.values()].map(({ labels, counts, sum }) => {
      const buckets: number[] = [];
      let running = 0;
      for (let i = 0; i < this.bounds.length; i++) buckets.push((running += counts[i]));
      return { labels, buckets, count: running + counts[this.bounds.length], sum };
    });
  }
}

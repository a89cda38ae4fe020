// The metric model shared by the exporter, the prom-client and the OpenTelemetry adapters:
// counters, gauges and histograms whose values are read when they are collected.

/** Label name -> value of one series. */
export type Labels = Readonly<Record<string, string>>;

/** A counter's or gauge's value for one label set. */
export interface ValueSample {
  labels: Labels;
  value: number;
}

/** A histogram for one label set: cumulative counts at every finite bound; `+Inf` is `count`. */
export interface HistogramSample {
  labels: Labels;
  /** `buckets[i]`: values `<= bounds[i]` (cumulative), one per bound of the metric. */
  buckets: number[];
  count: number;
  sum: number;
}

interface MetricBase {
  /** Prometheus metric name; counters end in `_total`. */
  readonly name: string;
  readonly help: string;
  /** Every label the samples carry, in exposition order. */
  readonly labelNames: readonly string[];
}

/** Only grows (map resets and vanished keys are absorbed, see `CumulativeTotals`). */
export interface CounterMetric extends MetricBase {
  readonly type: 'counter';
  collect(): ValueSample[];
}

export interface GaugeMetric extends MetricBase {
  readonly type: 'gauge';
  collect(): ValueSample[];
}

export interface HistogramMetric extends MetricBase {
  readonly type: 'histogram';
  /** Finite upper bounds (`le`), increasing; `+Inf` is implied. */
  readonly bounds: readonly number[];
  collect(): HistogramSample[];
}

export type Metric = CounterMetric | GaugeMetric | HistogramMetric;

/**
 * One value read from a source. `id` names the source entry (a map key) across reads, whatever
 * labels it has now; default: its labels.
 */
export interface Observation {
  id?: string;
  labels: Labels;
  value: number | bigint;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Default most series one metric keeps; label sets past it are counted under `OTHER`. */
export const DEFAULT_MAX_SERIES = 10_000;
/** The label value every label gets once a metric has `maxSeries` series. */
export const OTHER = '_other';

export interface MetricOptions {
  name: string;
  help: string;
  labelNames?: readonly string[];
  /**
   * Most label sets kept (default 10000): labels come from the kernel (process names, ...), so
   * their number is capped; later ones are folded into one series with every label `_other`.
   */
  maxSeries?: number;
}

/** Validates name, help and label names (TypeError naming the argument). @internal */
export function checkOptions(options: MetricOptions, type: Metric['type']): Required<MetricOptions> {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const { name, help, labelNames = [], maxSeries = DEFAULT_MAX_SERIES } = options;
  if (typeof name !== 'string' || !METRIC_NAME.test(name)) throw new TypeError(`options.name must be a Prometheus metric name, got ${String(name)}`);
  if (type === 'counter' && !name.endsWith('_total')) throw new TypeError(`options.name: a counter's name ends in _total, got ${name}`);
  if (type !== 'counter' && name.endsWith('_total')) throw new TypeError(`options.name: only counters end in _total, got ${name}`);
  if (typeof help !== 'string') throw new TypeError('options.help must be a string');
  if (!Array.isArray(labelNames)) throw new TypeError('options.labelNames must be an array of label names');
  for (const l of labelNames) {
    if (typeof l !== 'string' || !LABEL_NAME.test(l) || l.startsWith('__')) throw new TypeError(`options.labelNames: invalid label name ${String(l)}`);
    if (type === 'histogram' && l === 'le') throw new TypeError('options.labelNames: `le` is reserved for histogram buckets');
  }
  if (new Set(labelNames).size !== labelNames.length) throw new TypeError('options.labelNames: duplicate label name');
  if (!Number.isInteger(maxSeries) || maxSeries < 1) throw new RangeError(`options.maxSeries must be a positive integer, got ${maxSeries}`);
  return { name, help, labelNames: [...labelNames], maxSeries };
}

/**
 * Label sets of one metric, checked against its label names, keyed by a stable string, capped
 * at `maxSeries` (the rest share the `_other` series). @internal
 */
export class SeriesIndex {
  readonly #labelNames: readonly string[];
  readonly #maxSeries: number;
  readonly #known = new Map<string, Labels>();
  readonly #other: Labels;

  constructor(labelNames: readonly string[], maxSeries: number) {
    this.#labelNames = labelNames;
    this.#maxSeries = maxSeries;
    this.#other = Object.fromEntries(labelNames.map((l) => [l, OTHER]));
  }

  /** The series key of `labels` (after the cap), and the labels themselves. */
  key(labels: Labels): [string, Labels] {
    const values = this.#labelNames.map((l) => {
      const v = labels[l];
      if (typeof v !== 'string') throw new TypeError(`labels: \`${l}\` must be a string, got ${typeof v}`);
      return v;
    });
    if (Object.keys(labels).length !== this.#labelNames.length) {
      throw new TypeError(`labels: expected exactly [${this.#labelNames.join(', ')}], got [${Object.keys(labels).join(', ')}]`);
    }
    const key = JSON.stringify(values);
    const known = this.#known.get(key);
    if (known) return [key, known];
    if (this.#known.size >= this.#maxSeries) {
      const otherKey = JSON.stringify(values.map(() => OTHER));
      this.#known.set(otherKey, this.#other);
      return [otherKey, this.#other];
    }
    const copy = Object.freeze({ ...labels });
    this.#known.set(key, copy);
    return [key, copy];
  }
}

/**
 * Turns readings of kernel counters into totals that only grow. Each reading lists the current
 * value of every entry (by id): an entry that grew adds the difference, one that went down was
 * reset (drained, re-created) and adds its new value, one that vanished keeps what it added.
 * Ids are kept only while present, so memory follows the map, not its history.
 * @internal
 */
export class CumulativeTotals {
  #last = new Map<string, number>();
  readonly #totals = new Map<string, { labels: Labels; value: number }>();
  readonly #series: SeriesIndex;

  constructor(series: SeriesIndex) {
    this.#series = series;
  }

  /** Applies one full reading; returns every series' total (series once seen stay, at their total). */
  update(reading: Iterable<Observation>): Map<string, { labels: Labels; value: number }> {
    // Entries that share an id in one reading (two keys mapped to one id) add up first.
    const next = new Map<string, { series: string; labels: Labels; value: number }>();
    for (const o of reading) {
      const [series, labels] = this.#series.key(o.labels);
      // An id is one source entry, whatever its labels: if they change (a pid's comm after
      // exec), its later growth goes to the new series and nothing is counted twice.
      const id = o.id === undefined ? `\u0000${series}` : o.id;
      const entry = next.get(id);
      if (entry) entry.value += toNumber(o.value);
      else next.set(id, { series, labels, value: toNumber(o.value) });
    }
    const last = new Map<string, number>();
    for (const [id, { series, labels, value }] of next) {
      const previous = this.#last.get(id);
      const delta = previous === undefined || value < previous ? value : value - previous;
      const total = this.#totals.get(series);
      if (total) total.value += delta;
      else this.#totals.set(series, { labels, value: delta });
      last.set(id, value);
    }
    this.#last = last;
    return this.#totals;
  }
}

/** A finite number from a kernel value. @internal */
export function toNumber(value: number | bigint): number {
  const n = typeof value === 'bigint' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n)) throw new TypeError(`value must be a number or bigint, got ${String(value)}`);
  return n;
}

/**
 * A counter read at collection time: `observe()` returns the current value of each source
 * entry (a kernel counter that may be reset); the exposed series only grow.
 */
export function counter(options: MetricOptions & { observe: () => Iterable<Observation> }): CounterMetric {
  const { name, help, labelNames, maxSeries } = checkOptions(options, 'counter');
  const observe = checkFunction(options.observe, 'options.observe');
  const totals = new CumulativeTotals(new SeriesIndex(labelNames, maxSeries));
  return {
    type: 'counter',
    name,
    help,
    labelNames,
    collect: () => [...totals.update(observe()).values()].map(({ labels, value }) => ({ labels, value })),
  };
}

/** A gauge read at collection time; observations with the same labels add up. */
export function gauge(options: MetricOptions & { observe: () => Iterable<Observation> }): GaugeMetric {
  const { name, help, labelNames, maxSeries } = checkOptions(options, 'gauge');
  const observe = checkFunction(options.observe, 'options.observe');
  const series = new SeriesIndex(labelNames, maxSeries);
  return {
    type: 'gauge',
    name,
    help,
    labelNames,
    collect: () => {
      const out = new Map<string, ValueSample>();
      for (const o of observe()) {
        const [key, labels] = series.key(o.labels);
        const s = out.get(key);
        if (s) s.value += toNumber(o.value);
        else out.set(key, { labels, value: toNumber(o.value) });
      }
      return [...out.values()];
    },
  };
}

/** One bucket's count (not cumulative) as read from the source. */
export interface BucketObservation extends Observation {
  /** Index of the bucket: values `<= bounds[bucket]` (and above the previous bound); `>= bounds.length` is the overflow. */
  bucket: number;
}

export interface HistogramOptions extends MetricOptions {
  /** Finite upper bounds, increasing. */
  bounds: readonly number[];
  /** Current per-bucket counts (kernel counters; resets are absorbed as for counters). */
  observe: () => Iterable<BucketObservation>;
  /** Current sum of the observed values per label set, in the unit of `bounds`. */
  observeSum?: () => Iterable<Observation>;
}

/** Checks histogram bounds: finite and strictly increasing. @internal */
export function checkBounds(bounds: unknown, what = 'options.bounds'): number[] {
  if (!Array.isArray(bounds) || bounds.length === 0) throw new TypeError(`${what} must be a non-empty array of numbers`);
  if (bounds.length > 1000) throw new RangeError(`${what}: at most 1000 buckets, got ${bounds.length}`);
  bounds.forEach((b, i) => {
    if (typeof b !== 'number' || !Number.isFinite(b)) throw new TypeError(`${what}[${i}] must be a finite number`);
    if (i > 0 && b <= bounds[i - 1]) throw new RangeError(`${what} must increase, but [${i - 1}] = ${bounds[i - 1]} >= [${i}] = ${b}`);
  });
  return [...bounds];
}

/** A histogram read at collection time: cumulative buckets at every bound, `_count`, `_sum`. */
export function histogram(options: HistogramOptions): HistogramMetric {
  const { name, help, labelNames, maxSeries } = checkOptions(options, 'histogram');
  const bounds = checkBounds(options.bounds);
  const observe = checkFunction(options.observe, 'options.observe');
  const observeSum = options.observeSum === undefined ? undefined : checkFunction(options.observeSum, 'options.observeSum');
  const series = new SeriesIndex(labelNames, maxSeries);
  // Bucket counts are counters of their own: one running total per (series, bucket).
  const bucketTotals = new CumulativeTotals(new SeriesIndex(['series', 'bucket'], Number.MAX_SAFE_INTEGER));
  const sumTotals = new CumulativeTotals(series);
  const labelsOf = new Map<string, Labels>();
  return {
    type: 'histogram',
    name,
    help,
    labelNames,
    bounds,
    collect: () => {
      const out = new Map<string, HistogramSample & { counts: number[] }>();
      const sample = (key: string, labels: Labels) => {
        let s = out.get(key);
        if (!s) out.set(key, (s = { labels, buckets: [], count: 0, sum: 0, counts: new Array<number>(bounds.length + 1).fill(0) }));
        return s;
      };
      const reading = function* (): Iterable<Observation> {
        for (const o of observe()) {
          if (!Number.isInteger(o.bucket) || o.bucket < 0) throw new TypeError(`bucket must be a non-negative integer, got ${o.bucket}`);
          const [key, labels] = series.key(o.labels);
          labelsOf.set(key, labels);
          const bucket = String(Math.min(o.bucket, bounds.length));
          yield { id: o.id === undefined ? undefined : `${o.id}\u0000${bucket}`, labels: { series: key, bucket }, value: o.value };
        }
      };
      for (const { labels, value } of bucketTotals.update(reading()).values()) {
        const key = labels.series;
        const s = sample(key, labelsOf.get(key)!);
        s.counts[Number(labels.bucket)] += value;
      }
      if (observeSum) {
        for (const [key, { labels, value }] of sumTotals.update(observeSum())) sample(key, labels).sum = value;
      }
      return [...out.values()].map(({ labels, counts, sum }) => {
        const buckets: number[] = [];
        let running = 0;
        for (let i = 0; i < bounds.length; i++) buckets.push((running += counts[i]));
        return { labels, buckets, count: running + counts[bounds.length], sum };
      });
    },
  };
}

/** `[2, 4, 8, ... 2^count]` times `unit`: the upper bounds of the kernel's log2 buckets. */
export function log2Bounds(count: number, unit = 1): number[] {
  if (!Number.isInteger(count) || count < 1 || count > 1000) throw new RangeError(`count must be an integer in [1, 1000], got ${count}`);
  if (typeof unit !== 'number' || !(unit > 0)) throw new RangeError(`unit must be a positive number, got ${unit}`);
  return Array.from({ length: count }, (_, i) => 2 ** (i + 1) * unit);
}

function checkFunction<F>(fn: F, what: string): F {
  if (typeof fn !== 'function') throw new TypeError(`${what} must be a function`);
  return fn;
}

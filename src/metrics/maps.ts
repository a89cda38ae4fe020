// Metrics read from eBPF maps at collection time: every entry of the map is one observation,
// its labels made from the key by a function the user gives.

import type { KeyedMap } from '../maps/map';
import {
  counter,
  gauge,
  histogram,
  type CounterMetric,
  type GaugeMetric,
  type HistogramMetric,
  type Labels,
  type MetricOptions,
  type Observation,
} from './metric';

export interface MapMetricOptions<K, V> extends MetricOptions {
  /**
   * Labels of an entry from its key (and value): syscall number -> name, pid -> comm, ...
   * `undefined` leaves the entry out. Without it every entry adds to the one unlabelled series.
   */
  labels?: (key: K, value: V) => Labels | undefined;
  /** The number an entry stands for; default: the value, summed over CPUs for per-CPU maps. */
  value?: (value: V, key: K) => number | bigint;
}

/** A stable string for a map key (numbers, bigints, Buffers, decoded structs). @internal */
export function keyId(key: unknown): string {
  if (typeof key === 'number' || typeof key === 'bigint' || typeof key === 'string') return String(key);
  if (Buffer.isBuffer(key)) return key.toString('hex');
  return JSON.stringify(key, (_k, v) => (typeof v === 'bigint' ? v.toString() : Buffer.isBuffer(v) ? v.toString('hex') : v));
}

/** The default value of an entry: a number, a bigint, or a per-CPU array of them summed. @internal */
export function defaultValue(value: unknown): number | bigint {
  if (typeof value === 'number' || typeof value === 'bigint') return value;
  if (Array.isArray(value) && value.every((v) => typeof v === 'bigint')) return value.reduce((a: bigint, b: bigint) => a + b, 0n);
  if (Array.isArray(value) && value.every((v) => typeof v === 'number')) return value.reduce((a: number, b: number) => a + b, 0);
  throw new TypeError('map values are neither numbers nor per-CPU numbers: pass options.value to pick the number');
}

function checkMap(map: unknown): void {
  if (typeof (map as KeyedMap<unknown, unknown>)?.entries !== 'function') throw new TypeError('map must be a keyed eBPF map (HashMap, ArrayMap, PerCpuArray, ...)');
}

function observations<K, V>(map: KeyedMap<K, V>, options: MapMetricOptions<K, V>): () => Iterable<Observation> {
  const { labels, value } = options;
  if (labels !== undefined && typeof labels !== 'function') throw new TypeError('options.labels must be a function');
  if (value !== undefined && typeof value !== 'function') throw new TypeError('options.value must be a function');
  return function* () {
    for (const [k, v] of map.entries()) {
      const l = labels ? labels(k, v) : {};
      if (l === undefined) continue;
      yield { id: keyId(k), labels: l, value: value ? value(v, k) : defaultValue(v) };
    }
  };
}

/**
 * A counter over a map of kernel counters. Each entry's growth adds to its series; an entry
 * that was reset or deleted (drained, evicted) never makes the series go down.
 *
 * ```ts
 * const syscalls = mapCounter(object.map('COUNTS', HashMap, u32, u64), {
 *   name: 'app_syscalls_total', help: 'syscalls', labelNames: ['syscall'],
 *   labels: (nr) => ({ syscall: syscallName(nr) }),
 * });
 * ```
 */
export function mapCounter<K, V>(map: KeyedMap<K, V>, options: MapMetricOptions<K, V>): CounterMetric {
  checkMap(map);
  return counter({ ...options, observe: observations(map, options) });
}

/** A gauge over a map: the current values (entries with the same labels add up). */
export function mapGauge<K, V>(map: KeyedMap<K, V>, options: MapMetricOptions<K, V>): GaugeMetric {
  checkMap(map);
  return gauge({ ...options, observe: observations(map, options) });
}

export interface MapHistogramOptions<K, V> extends MapMetricOptions<K, V> {
  /** Upper bound of each bucket, increasing (e.g. `log2Bounds(63, 1e-6)` for log2 microseconds in seconds). */
  bounds: readonly number[];
  /** Bucket index of an entry; default: the key itself (an array map of buckets). */
  bucket?: (key: K, value: V) => number;
  /** The current sum of the observed values, in the unit of `bounds` (unlabelled histograms). */
  sum?: () => number | bigint;
  /** The current sum per label set, for labelled histograms. */
  observeSum?: () => Iterable<Observation>;
}

/**
 * A histogram over a map of bucket counts (as kernel programs keep them): cumulative buckets at
 * every bound, `_count`, and `_sum` when `sum` (or `observeSum`) is given.
 */
export function mapHistogram<K, V>(map: KeyedMap<K, V>, options: MapHistogramOptions<K, V>): HistogramMetric {
  checkMap(map);
  const { bucket, sum } = options;
  if (bucket !== undefined && typeof bucket !== 'function') throw new TypeError('options.bucket must be a function');
  if (sum !== undefined && typeof sum !== 'function') throw new TypeError('options.sum must be a function');
  const { labels, value } = options;
  const observe = function* () {
    for (const [k, v] of map.entries()) {
      const l = labels ? labels(k, v) : {};
      if (l === undefined) continue;
      const index = bucket ? bucket(k, v) : k;
      if (typeof index !== 'number') throw new TypeError('map keys are not bucket numbers: pass options.bucket');
      yield { id: keyId(k), labels: l, bucket: index, value: value ? value(v, k) : defaultValue(v) };
    }
  };
  const observeSum = options.observeSum ?? (sum ? () => [{ labels: {}, value: sum() }] : undefined);
  return histogram({ ...options, observe, observeSum });
}

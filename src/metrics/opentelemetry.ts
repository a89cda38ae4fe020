// OpenTelemetry integration: the metrics as observable instruments of a Meter the user gives
// (from @opentelemetry/api); nothing is imported here, the Meter brings its own API.

import type { Metric } from './metric';

/** The parts of an `@opentelemetry/api` Meter used here. */
export interface MeterLike {
  createObservableCounter(name: string, options?: { description?: string; unit?: string }): unknown;
  createObservableGauge(name: string, options?: { description?: string; unit?: string }): unknown;
  addBatchObservableCallback(callback: (result: BatchResultLike) => void, observables: unknown[]): void;
  removeBatchObservableCallback(callback: (result: BatchResultLike) => void, observables: unknown[]): void;
}

export interface BatchResultLike {
  observe(observable: unknown, value: number, attributes?: Record<string, string>): void;
}

/**
 * Observes `metrics` through `meter`, read once per collection of the meter's readers:
 * counters as ObservableCounters (named without `_total`), gauges as ObservableGauges.
 * The OpenTelemetry API has no asynchronous histogram, so a histogram `h` becomes three
 * ObservableCounters with exact values: `h_bucket` (cumulative, attribute `le`), `h_sum`, `h_count`.
 * Returns a function that stops observing.
 */
export function observeOpenTelemetry(meter: MeterLike, metrics: readonly Metric[]): () => void {
  if (typeof meter?.addBatchObservableCallback !== 'function') throw new TypeError('meter must be an @opentelemetry/api Meter');
  if (!Array.isArray(metrics)) throw new TypeError('metrics must be an array of metrics');
  const observers: Array<(result: BatchResultLike) => void> = [];
  const observables: unknown[] = [];
  const instrument = (kind: 'counter' | 'gauge', name: string, description: string) => {
    const i = kind === 'counter' ? meter.createObservableCounter(name, { description }) : meter.createObservableGauge(name, { description });
    observables.push(i);
    return i;
  };
  for (const m of metrics) {
    if (m.type === 'histogram') {
      const h = m;
      const buckets = instrument('counter', `${m.name}_bucket`, `${m.help} (cumulative count per upper bound le)`);
      const sum = instrument('counter', `${m.name}_sum`, `${m.help} (sum)`);
      const count = instrument('counter', `${m.name}_count`, `${m.help} (count)`);
      observers.push((result) => {
        for (const s of h.collect()) {
          h.bounds.forEach((le: number, i: number) => result.observe(buckets, s.buckets[i], { ...s.labels, le: String(le) }));
          result.observe(buckets, s.count, { ...s.labels, le: '+Inf' });
          result.observe(sum, s.sum, { ...s.labels });
          result.observe(count, s.count, { ...s.labels });
        }
      });
    } else {
      const name = m.type === 'counter' ? m.name.slice(0, -'_total'.length) : m.name;
      const i = instrument(m.type, name, m.help);
      observers.push((result) => {
        for (const s of m.collect()) result.observe(i, s.value, { ...s.labels });
      });
    }
  }
  const callback = (result: BatchResultLike) => {
    for (const observe of observers) observe(result);
  };
  meter.addBatchObservableCallback(callback, observables);
  return () => meter.removeBatchObservableCallback(callback, observables);
}

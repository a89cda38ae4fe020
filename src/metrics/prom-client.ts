// prom-client integration: the metrics as prom-client metrics in the user's own registry.
// prom-client is an optional peer dependency, loaded only when this is called.

import type { Metric } from './metric';

/** The parts of a prom-client `Registry` used here. */
export interface PromClientRegistry {
  registerMetric(metric: unknown): void;
  removeSingleMetric(name: string): void;
}

function loadPromClient(): any {
  try {
    // Lazy: aya-node works without prom-client; only this function needs it.
    return require('prom-client');
  } catch (err) {
    throw new Error(`registerPromClient needs the prom-client package (npm install prom-client): ${(err as Error).message}`);
  }
}

/**
 * Registers `metrics` in a prom-client registry (default: prom-client's global `register`). Each
 * is read from its maps when the registry is scraped (`await registry.metrics()`). Returns a
 * function that unregisters them.
 *
 * ```ts
 * import { Registry } from 'prom-client';
 * const registry = new Registry();
 * registerPromClient(registry, [syscalls]);
 * ```
 */
export function registerPromClient(registry: PromClientRegistry | undefined, metrics: readonly Metric[]): () => void {
  const client = loadPromClient();
  const target: PromClientRegistry = registry ?? client.register;
  if (typeof target?.registerMetric !== 'function') throw new TypeError('registry must be a prom-client Registry');
  if (!Array.isArray(metrics)) throw new TypeError('metrics must be an array of metrics');
  const registered: string[] = [];
  for (const m of metrics) {
    target.registerMetric(toPromClient(client, m));
    registered.push(m.name);
  }
  return () => registered.forEach((name) => target.removeSingleMetric(name));
}

/** One metric as a prom-client metric that reads it on collection (not registered anywhere yet). */
function toPromClient(client: any, m: Metric): unknown {
  const base = { name: m.name, help: m.help, labelNames: [...m.labelNames], registers: [] };
  switch (m.type) {
    case 'counter':
    case 'gauge': {
      // prom-client counters only `inc`: both start from zero at each collection and take
      // the value read (`inc` from zero for a counter, `set` for a gauge).
      const Class = m.type === 'counter' ? client.Counter : client.Gauge;
      const put = m.type === 'counter' ? 'inc' : 'set';
      return new Class({
        ...base,
        collect(this: any) {
          this.reset();
          for (const s of m.collect()) this[put](s.labels, s.value);
        },
      });
    }
    case 'histogram':
      return new (histogramClass(client))(m, base);
    default:
      throw new TypeError(`metric ${(m as Metric).name}: unknown type`);
  }
}

const histogramClasses = new WeakMap<object, any>();

/**
 * A prom-client Histogram whose buckets come from the metric rather than from `observe()`:
 * prom-client has no public way to set bucket counts, so this answers `getForPromString()`
 * (what the registry calls for the text format; `get()` builds on it) itself.
 */
function histogramClass(client: any): any {
  let cls = histogramClasses.get(client);
  if (cls) return cls;
  cls = class MapHistogram extends client.Histogram {
    readonly #metric: Extract<Metric, { type: 'histogram' }>;

    constructor(metric: Extract<Metric, { type: 'histogram' }>, base: object) {
      super({ ...base, buckets: [...metric.bounds] });
      this.#metric = metric;
    }

    async getForPromString() {
      const m = this.#metric;
      const values: unknown[] = [];
      const value = (metricName: string, labels: Record<string, string | number>, v: number) => values.push({ metricName, labels, value: v, sharedLabels: {} });
      for (const s of m.collect()) {
        m.bounds.forEach((le, i) => value(`${m.name}_bucket`, { ...s.labels, le }, s.buckets[i]));
        value(`${m.name}_bucket`, { ...s.labels, le: '+Inf' }, s.count);
        value(`${m.name}_sum`, { ...s.labels }, s.sum);
        value(`${m.name}_count`, { ...s.labels }, s.count);
      }
      return { name: m.name, help: m.help, type: 'histogram', values, aggregator: 'sum' };
    }
  };
  histogramClasses.set(client, cls);
  return cls;
}

// Prometheus text format 0.0.4 and OpenMetrics 1.0 text, written from collected metrics.

import type { Labels, Metric } from './metric';

export type ExpositionFormat = 'prometheus' | 'openmetrics';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

/** The format a scraper asks for in its `Accept` header (OpenMetrics only when it lists it). */
export function negotiateFormat(accept: string | undefined): ExpositionFormat {
  return accept !== undefined && /application\/openmetrics-text/i.test(accept) ? 'openmetrics' : 'prometheus';
}

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const escapeHelp = (v: string, format: ExpositionFormat) => {
  const s = v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
  return format === 'openmetrics' ? s.replace(/"/g, '\\"') : s;
};

/** A sample value: integers as they are, `+Inf`/`-Inf`/`NaN` spelled out. @internal */
export function formatNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

function labelText(labelNames: readonly string[], labels: Labels, extra?: [string, string]): string {
  const parts = labelNames.map((l) => `${l}="${escapeLabel(labels[l] ?? '')}"`);
  if (extra) parts.push(`${extra[0]}="${escapeLabel(extra[1])}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

/**
 * Collects every metric and writes them out. A metric whose collection throws is left out
 * and reported through `onError` (the rest of the scrape still works).
 */
export function render(metrics: readonly Metric[], format: ExpositionFormat = 'prometheus', onError?: (metric: Metric, err: unknown) => void): string {
  if (format !== 'prometheus' && format !== 'openmetrics') throw new TypeError(`format must be 'prometheus' or 'openmetrics', got ${String(format)}`);
  const names = new Set<string>();
  const out: string[] = [];
  for (const m of metrics) {
    if (names.has(m.name)) throw new TypeError(`two metrics are named ${m.name}`);
    names.add(m.name);
    let lines: string[];
    try {
      lines = renderOne(m, format);
    } catch (err) {
      onError?.(m, err);
      continue;
    }
    out.push(...lines);
  }
  if (format === 'openmetrics') out.push('# EOF');
  return `${out.join('\n')}\n`;
}

function renderOne(m: Metric, format: ExpositionFormat): string[] {
  // OpenMetrics names the counter family without `_total` and its sample with it.
  const family = format === 'openmetrics' && m.type === 'counter' ? m.name.slice(0, -'_total'.length) : m.name;
  const lines = [`# HELP ${family} ${escapeHelp(m.help, format)}`, `# TYPE ${family} ${m.type}`];
  if (m.type === 'histogram') {
    for (const s of m.collect()) {
      m.bounds.forEach((le, i) => lines.push(`${m.name}_bucket${labelText(m.labelNames, s.labels, ['le', formatNumber(le)])} ${formatNumber(s.buckets[i])}`));
      lines.push(`${m.name}_bucket${labelText(m.labelNames, s.labels, ['le', '+Inf'])} ${formatNumber(s.count)}`);
      lines.push(`${m.name}_sum${labelText(m.labelNames, s.labels)} ${formatNumber(s.sum)}`);
      lines.push(`${m.name}_count${labelText(m.labelNames, s.labels)} ${formatNumber(s.count)}`);
    }
  } else {
    for (const s of m.collect()) lines.push(`${m.name}${labelText(m.labelNames, s.labels)} ${formatNumber(s.value)}`);
  }
  return lines;
}

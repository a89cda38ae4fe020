// Power-of-two histograms (as the latency programs keep them) and their terminal rendering,
// in the style of bpftrace's hist().

/** One bucket: values in `[low, high)`; bucket 0 is `[0, 2)`. */
export interface Bucket {
  low: number;
  high: number;
  count: number;
}

export interface Histogram {
  /** Unit of the bucket bounds, e.g. `us`. */
  unit: string;
  /** Non-empty buckets from the first to the last (empty ones in between kept). */
  buckets: Bucket[];
  total: number;
  /** Sum of the values, in `unit`, when the kernel side keeps one (the latency tools do). */
  sum?: number;
}

/** Buckets of the kernel's log2 histograms (`aya_node_common::histogram::HISTOGRAM_BUCKETS`). */
export const HISTOGRAM_BUCKETS = 64;

/** Builds a histogram from per-bucket counts (index i counts values in [2^i, 2^(i+1))). */
export function log2Histogram(counts: readonly number[], unit: string): Histogram {
  const first = counts.findIndex((c) => c > 0);
  if (first === -1) return { unit, buckets: [], total: 0 };
  let last = counts.length - 1;
  while (counts[last] === 0) last--;
  const buckets: Bucket[] = [];
  for (let i = first; i <= last; i++) {
    buckets.push({ low: i === 0 ? 0 : 2 ** i, high: 2 ** (i + 1), count: counts[i] });
  }
  return { unit, buckets, total: counts.reduce((a, b) => a + b, 0) };
}

/** Renders `[low, high)  count |@@@@   |` lines, bars scaled to the largest bucket. */
export function renderHistogram(hist: Histogram, width = 40): string {
  if (hist.buckets.length === 0) return `(no samples)\n`;
  const max = Math.max(...hist.buckets.map((b) => b.count));
  const range = (b: Bucket) => `[${b.low}, ${b.high})`;
  const rangeWidth = Math.max(...hist.buckets.map((b) => range(b).length));
  const countWidth = String(max).length;
  const lines = hist.buckets.map((b) => {
    const bar = '@'.repeat(Math.round((b.count / max) * width));
    return `${range(b).padEnd(rangeWidth)} ${String(b.count).padStart(countWidth)} |${bar.padEnd(width)}|`;
  });
  return `${hist.unit}\n${lines.join('\n')}\n`;
}

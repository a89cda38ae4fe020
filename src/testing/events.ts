// Waiting for kernel events in tests: the first matching event within a time limit, or
// everything that arrives during a while.

import type { EventStream, StreamReadOptions } from '../streams/stream';

/** A ring buffer or perf event array, or a tool (`Execsnoop`...) with its `stream()`. */
export type EventSource<T> = EventStream<T> | { stream(options: StreamReadOptions): AsyncIterable<T> };

function iterate<T>(source: EventSource<T>, signal: AbortSignal): AsyncIterable<T> {
  if ('events' in source && typeof source.events === 'function') return source.events({ signal });
  if ('stream' in source && typeof source.stream === 'function') return source.stream({ signal });
  throw new TypeError('source: expected a ring buffer, a perf event array or a tool with stream()');
}

export interface WaitOptions {
  /** Milliseconds to wait before rejecting (default 5000). */
  timeout?: number;
  /** Stops waiting early. */
  signal?: AbortSignal;
}

/**
 * Resolves with the first event of `source` for which `match` holds; rejects with an error
 * saying how many events went by when none matched within `timeout` ms. Start it before you
 * cause the event: events that arrive before the wait starts are still in the ring, so
 * starting first is not required, but events read by another consumer are gone.
 */
export async function waitForEvent<T>(source: EventSource<T>, match: (event: T) => boolean, options: WaitOptions = {}): Promise<T> {
  if (typeof match !== 'function') throw new TypeError('match: expected a function');
  const timeout = options.timeout ?? 5000;
  if (!Number.isFinite(timeout) || timeout <= 0) throw new RangeError(`options.timeout: expected a positive number of ms, got ${timeout}`);
  const signals = [AbortSignal.timeout(timeout), ...(options.signal ? [options.signal] : [])];
  let seen = 0;
  try {
    for await (const event of iterate(source, AbortSignal.any(signals))) {
      seen++;
      if (match(event)) return event;
    }
  } catch (err) {
    const name = (err as Error).name;
    if (name !== 'TimeoutError' && name !== 'AbortError') throw err;
    if (options.signal?.aborted) throw err;
  }
  throw new Error(`no matching event within ${timeout} ms (${seen} other event${seen === 1 ? '' : 's'} went by)`);
}

/** Every event `stream` delivers within `ms` milliseconds. */
export async function collectEvents<T>(stream: EventStream<T>, ms: number): Promise<T[]> {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`ms: expected a non-negative number, got ${ms}`);
  const out: T[] = [];
  try {
    for await (const batch of stream.batches({ signal: AbortSignal.timeout(ms) })) out.push(...batch);
  } catch (err) {
    const name = (err as Error).name;
    if (name !== 'TimeoutError' && name !== 'AbortError') throw err;
  }
  return out;
}

/** Rejects after `ms` with a message naming `what`; for bounding any wait on the kernel. */
export function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  if (!Number.isFinite(ms) || ms <= 0) throw new RangeError(`ms: expected a positive number, got ${ms}`);
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves true once `check()` holds, polling for up to `ms` (kernel objects are freed after RCU). */
export async function eventually(check: () => boolean, ms = 2000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

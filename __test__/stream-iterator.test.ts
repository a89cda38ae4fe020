// Unit tests of the per-event iterator behind `events()` (src/streams/stream.ts EventIterator):
// pure logic over a scripted source of batches, no kernel. The kernel-backed behaviour (a real
// ring, break in the middle of a batch, an iterator collected with a read pending) is in
// streams.test.ts.

import test from 'ava';
import { EventIterator, type BatchSource, type Consumer } from '../src/streams/stream';

/** A source of batches that records whether it was ended. */
function source(batches: number[][]) {
  const state = { returned: false, reads: 0 };
  const iterator: BatchSource<number> = {
    async next() {
      state.reads++;
      return batches.shift() ?? null;
    },
    end() {
      state.returned = true;
    },
  };
  return { iterator, state };
}

function make(batches: number[][], signal?: AbortSignal) {
  const consumer: Consumer = { readId: 0, abandoned: false };
  const kept: number[] = [];
  const { iterator, state } = source(batches);
  const events = new EventIterator(iterator, consumer, signal, (rest) => kept.push(...rest));
  return { events, consumer, kept, state };
}

test('events come one at a time across batches, in order, then the end', async (t) => {
  const { events, kept, state } = make([[1, 2], [], [3]]);
  const seen: number[] = [];
  for await (const n of events) seen.push(n);
  t.deepEqual(seen, [1, 2, 3]);
  t.deepEqual(kept, []);
  t.true(state.returned, 'the source is ended (the stream given back) at the end too');
  t.deepEqual(await events.next(), { done: true, value: undefined }, 'done stays done');
});

test('break in the middle of a batch keeps the rest and ends the source', async (t) => {
  const { events, kept, state } = make([[1, 2, 3, 4], [5]]);
  for await (const n of events) if (n === 2) break;
  t.deepEqual(kept, [3, 4]);
  t.true(state.returned);
  t.is(state.reads, 1, 'the next batch was not read');
});

test('throw() keeps the rest, ends the source and rethrows', async (t) => {
  const { events, kept, state } = make([[1, 2, 3]]);
  await events.next();
  await t.throwsAsync(events.throw(new Error('boom')), { message: 'boom' });
  t.deepEqual(kept, [2, 3]);
  t.true(state.returned);
});

test('an aborted signal throws at the next event, keeping it and the rest', async (t) => {
  const controller = new AbortController();
  const { events, kept } = make([[1, 2, 3]], controller.signal);
  t.deepEqual(await events.next(), { done: false, value: 1 });
  controller.abort();
  const err = await events.next().then(() => undefined, (e: unknown) => e);
  t.is((err as DOMException | undefined)?.name, 'AbortError');
  t.deepEqual(kept, [2, 3]);
});

test('an abandoned consumer ends quietly, keeping what it did not take', async (t) => {
  const { events, consumer, kept } = make([[1, 2, 3]]);
  await events.next();
  consumer.abandoned = true;
  t.deepEqual(await events.next(), { done: true, value: undefined });
  t.deepEqual(kept, [2, 3]);
});

test('calls that do not wait for each other are served in call order', async (t) => {
  const { events } = make([[1], [2, 3], [4]]);
  const results = await Promise.all([events.next(), events.next(), events.next(), events.next(), events.next()]);
  t.deepEqual(
    results.map((r) => r.value),
    [1, 2, 3, 4, undefined],
  );
});

test('return() while a step waits for a batch runs after it, and keeps that batch', async (t) => {
  let release: (() => void) | undefined;
  const consumer: Consumer = { readId: 0, abandoned: false };
  const kept: number[] = [];
  const slow: BatchSource<number> = {
    next: () => new Promise((resolve) => (release = () => resolve([7, 8]))),
    end: () => {},
  };
  const events = new EventIterator(slow, consumer, undefined, (rest) => kept.push(...rest));
  const first = events.next();
  const ended = events.return();
  release!();
  t.deepEqual(await first, { done: false, value: 7 });
  t.deepEqual(await ended, { done: true, value: undefined });
  t.deepEqual(kept, [8]);
});

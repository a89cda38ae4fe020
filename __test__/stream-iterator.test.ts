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

/**
 * A source with the synchronous side (`poll`, `wait`), as the kernel streams have: `ready`
 * batches are taken by `poll()` at once; `later` ones only after `wait()` calls back, which
 * the test does with `wake()`. The first batch comes from `next()`.
 */
function pollingSource(ready: number[][], later: number[][]) {
  const state = { polls: 0, waits: 0, nexts: 0, returned: false };
  let wake: ((open: boolean) => void) | undefined;
  let drained = false;
  const iterator: BatchSource<number> = {
    async next() {
      state.nexts++;
      return ready.shift() ?? later.shift() ?? null;
    },
    poll() {
      // As the streams': nothing before the first next(), which takes the stream.
      if (state.nexts === 0) return undefined;
      state.polls++;
      const batch = ready.shift();
      drained = batch === undefined;
      return batch;
    },
    wait(resolve) {
      if (!drained) return false;
      drained = false;
      state.waits++;
      wake = (open) => {
        wake = undefined;
        const batch = later.shift();
        if (batch) ready.push(batch);
        resolve(open);
      };
      return true;
    },
    end() {
      state.returned = true;
    },
  };
  return { iterator, state, wake: (open = true) => wake?.(open) };
}

test('a batch already waiting is taken synchronously: next() resolves without a step through the source', async (t) => {
  const consumer: Consumer = { readId: 0, abandoned: false };
  const { iterator, state } = pollingSource([[1], [2, 3]], []);
  const events = new EventIterator(iterator, consumer, undefined, () => {});
  // The first step goes through next() (it takes the stream); the rest are polled.
  t.deepEqual(await events.next(), { done: false, value: 1 });
  t.is(state.nexts, 1);
  t.deepEqual(await events.next(), { done: false, value: 2 });
  t.deepEqual(await events.next(), { done: false, value: 3 });
  t.is(state.nexts, 1, 'no further next(): the batch came from poll()');
});

test('after an empty poll the iterator waits, then polls: a wake-up resumes the consumer with the new batch', async (t) => {
  const consumer: Consumer = { readId: 0, abandoned: false };
  const { iterator, state, wake } = pollingSource([[1]], [[2]]);
  const events = new EventIterator(iterator, consumer, undefined, () => {});
  t.deepEqual(await events.next(), { done: false, value: 1 });
  const second = events.next();
  await new Promise((resolve) => setImmediate(resolve));
  t.is(state.waits, 1, 'waiting for the kernel');
  wake();
  t.deepEqual(await second, { done: false, value: 2 });
  t.is(state.nexts, 1, 'the wake-up was served by poll(), not next()');
  const third = events.next();
  await new Promise((resolve) => setImmediate(resolve));
  wake(false); // the stream closed while waiting
  t.deepEqual(await third, { done: true, value: undefined });
  t.true(state.returned);
});

test('map: each event is converted, undefined skips it', async (t) => {
  const consumer: Consumer = { readId: 0, abandoned: false };
  const { iterator } = source([[1, 2, 3], [4, 5]]);
  const events = new EventIterator(iterator, consumer, undefined, () => {}, (n: number) => (n % 2 === 0 ? undefined : `#${n}`));
  const seen: string[] = [];
  for await (const s of events) seen.push(s);
  t.deepEqual(seen, ['#1', '#3', '#5']);
});

test('map that throws: the error reaches the consumer, the untaken rest is kept and the source ended', async (t) => {
  const consumer: Consumer = { readId: 0, abandoned: false };
  const kept: number[] = [];
  const { iterator, state } = source([[1, 2, 3, 4]]);
  const events = new EventIterator(iterator, consumer, undefined, (rest) => kept.push(...rest), (n: number) => {
    if (n === 2) throw new Error('bad event 2');
    return n;
  });
  t.deepEqual(await events.next(), { done: false, value: 1 });
  await t.throwsAsync(events.next(), { message: 'bad event 2' });
  t.deepEqual(kept, [3, 4]);
  t.true(state.returned);
  t.deepEqual(await events.next(), { done: true, value: undefined });
});

/** Lets queued promise reactions and the next macrotask run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

test('calls made while a next() waits for a wake-up are served after it, in call order', async (t) => {
  const consumer: Consumer = { readId: 0, abandoned: false };
  const { iterator, state, wake } = pollingSource([[1]], [[2, 3, 4, 5]]);
  const events = new EventIterator(iterator, consumer, undefined, () => {});
  t.deepEqual(await events.next(), { done: false, value: 1 });
  const order: number[] = [];
  const track = (p: Promise<IteratorResult<number, void>>) => p.then((r) => (order.push(r.value as number), r));
  const calls = [events.next(), events.next(), events.next()].map(track);
  await settle();
  t.is(state.waits, 1, 'one wait for the three calls');
  wake();
  // A call right after the wake-up, before the queued ones ran: it still comes after them.
  calls.push(track(events.next()));
  t.deepEqual(await Promise.all(calls), [2, 3, 4, 5].map((value) => ({ done: false, value })));
  t.deepEqual(order, [2, 3, 4, 5]);
  t.is(state.nexts, 1, 'served by poll() after the wake-up');
  // The queue drained: the next call waits again, and the wake-up serves it.
  const last = events.next();
  await settle();
  t.is(state.waits, 2);
  wake(false);
  t.deepEqual(await last, { done: true, value: undefined });
});

test('an abort while next() waits rejects it after the wake-up, and the batch it brought is kept', async (t) => {
  const consumer: Consumer = { readId: 0, abandoned: false };
  const { iterator, state, wake } = pollingSource([[1]], [[2, 3]]);
  const controller = new AbortController();
  const kept: number[] = [];
  const events = new EventIterator(iterator, consumer, controller.signal, (rest) => kept.push(...rest));
  t.deepEqual(await events.next(), { done: false, value: 1 });
  const waiting = events.next();
  await settle();
  controller.abort();
  wake(); // as the stream's abort handler does: the wait ends, open
  const err = await waiting.then(() => undefined, (e: unknown) => e);
  t.is((err as DOMException | undefined)?.name, 'AbortError');
  t.deepEqual(kept, [2, 3]);
  t.true(state.returned);
});

test('a map that throws on the event a wake-up brought rejects that next(), keeps the rest and ends the source', async (t) => {
  const consumer: Consumer = { readId: 0, abandoned: false };
  const { iterator, state, wake } = pollingSource([[1]], [[2, 3]]);
  const kept: number[] = [];
  const events = new EventIterator(iterator, consumer, undefined, (rest) => kept.push(...rest), (n: number) => {
    if (n === 2) throw new Error('bad event 2');
    return n;
  });
  t.deepEqual(await events.next(), { done: false, value: 1 });
  const waiting = events.next();
  await settle();
  wake();
  await t.throwsAsync(waiting, { message: 'bad event 2' });
  t.deepEqual(kept, [3]);
  t.true(state.returned);
  t.deepEqual(await events.next(), { done: true, value: undefined });
});

test('a wake-up that finds no batch after all falls back to next(), and an abandoned consumer ends quietly', async (t) => {
  const consumer: Consumer = { readId: 0, abandoned: false };
  // The wake-up brings nothing (later is empty): the step asks next(), which has [5].
  const { iterator, state, wake } = pollingSource([[1]], []);
  const events = new EventIterator(iterator, consumer, undefined, () => {});
  t.deepEqual(await events.next(), { done: false, value: 1 });
  const waiting = events.next();
  await settle();
  wake();
  t.deepEqual(await waiting, { done: true, value: undefined }, 'next() had nothing either: the end');
  t.is(state.nexts, 2);
  const other = pollingSource([[1]], [[2]]);
  const events2 = new EventIterator(other.iterator, consumer, undefined, () => {});
  consumer.abandoned = false;
  t.deepEqual(await events2.next(), { done: false, value: 1 });
  const second = events2.next();
  await settle();
  consumer.abandoned = true;
  other.wake();
  t.deepEqual(await second, { done: true, value: undefined });
  t.true(other.state.returned);
});

test('a wait that throws rejects that next() (it does not throw) and ends the source', async (t) => {
  const consumer: Consumer = { readId: 0, abandoned: false };
  const { iterator, state } = pollingSource([[1]], []);
  const events = new EventIterator(iterator, consumer, undefined, () => {});
  t.deepEqual(await events.next(), { done: false, value: 1 });
  iterator.wait = () => {
    throw new Error('arm failed');
  };
  let pending: Promise<unknown> | undefined;
  t.notThrows(() => (pending = events.next()));
  await t.throwsAsync(pending!, { message: 'arm failed' });
  t.true(state.returned);
  t.deepEqual(await events.next(), { done: true, value: undefined });
});

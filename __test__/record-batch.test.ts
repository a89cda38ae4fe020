// Unit tests of RecordBatch (src/streams/stream.ts) over batches laid out by hand as the native
// core lays them out (`u32 length | u32 tag | bytes | padding to 8`), no kernel: the loop walk
// (`next`/`start`/`length`/`tag`), `forEach` and iteration agree, record by record. Reading real
// rings and perf buffers this way is in streams.test.ts.

import test from 'ava';
import { RecordBatch } from '../src/streams/stream';

/** A batch of `records` ([tag, bytes]) inside a larger buffer, so `data.byteOffset` is not 0. */
function laidOut(records: Array<[number, number[]]>): RecordBatch {
  const parts: Buffer[] = [];
  for (const [tag, bytes] of records) {
    const record = Buffer.alloc(8 + Math.ceil(bytes.length / 8) * 8, 0xee); // padding garbage is never read
    record.writeUInt32LE(bytes.length, 0);
    record.writeUInt32LE(tag, 4);
    Buffer.from(bytes).copy(record, 8);
    parts.push(record);
  }
  const body = Buffer.concat(parts);
  const outer = Buffer.alloc(body.length + 24);
  body.copy(outer, 16);
  return new RecordBatch(outer.subarray(16, 16 + body.length), records.length);
}

const records: Array<[number, number[]]> = [
  [7, [1, 2, 3]],
  [8, []],
  [9, [4, 5, 6, 7, 8, 9, 10, 11, 12]],
  [10, Array.from({ length: 16 }, (_, i) => 100 + i)],
];

test('the loop walk, forEach and iteration see the same records: bytes, lengths and tags', (t) => {
  const batch = laidOut(records);
  const walked: Array<[number, number[]]> = [];
  for (let i = 0, at = 0; i < batch.count; i++, at = batch.next(at)) {
    const start = batch.start(at);
    walked.push([batch.tag(at), [...batch.data.subarray(start, start + batch.length(at))]]);
  }
  t.deepEqual(walked, records);
  const called: Array<[number, number[]]> = [];
  batch.forEach((data, start, length, tag) => called.push([tag, [...data.subarray(start, start + length)]]));
  t.deepEqual(called, records);
  t.deepEqual([...batch].map((b) => [...b]), records.map(([, bytes]) => bytes));
  t.is(batch.next(batch.next(batch.next(batch.next(0)))), batch.data.length, 'the walk ends at the end of data');
});

test('view reads the batch at the same offsets as data, though data starts inside a larger buffer', (t) => {
  const batch = laidOut(records);
  t.not(batch.data.byteOffset, 0);
  const third = batch.next(batch.next(0));
  t.is(batch.view.getUint8(batch.start(third)), 4);
  t.is(batch.view.getUint32(batch.start(third), true), batch.data.readUInt32LE(batch.start(third)));
  t.is(batch.view.byteLength, batch.data.length);
});

test('a place that is not a record header is a RangeError or TypeError naming `at`', (t) => {
  const batch = laidOut(records);
  for (const at of [-8, 1.5, batch.data.length, batch.data.length - 4, NaN, Infinity]) {
    t.throws(() => batch.length(at), { instanceOf: RangeError, message: /^at must be/ }, `length(${at})`);
    t.throws(() => batch.next(at), { instanceOf: RangeError, message: /^at must be/ }, `next(${at})`);
  }
  t.throws(() => batch.start('8' as unknown as number), { instanceOf: TypeError, message: /^at must be a number/ });
  t.throws(() => batch.tag(undefined as unknown as number), { instanceOf: TypeError, message: /^at must be a number/ });
  t.throws(() => batch.next(8n as unknown as number), { instanceOf: TypeError, message: /^at must be a number/ });
  t.throws(() => batch.length(Symbol('at') as unknown as number), { instanceOf: TypeError, message: /^at must be a number/ });
});

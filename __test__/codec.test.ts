import test from 'ava';
import { codec, EbpfError, ExecEvent } from '../src';

const { struct, u8, u16, u32, u64, i8, i64, cstring, array, bool, f64 } = codec;

test('struct layout follows C alignment and padding', (t) => {
  const s = struct({ a: u8, b: u64, c: u16, d: array(u8, 3) });
  t.deepEqual(s.offsets, { a: 0, b: 8, c: 16, d: 18 });
  t.is(s.size, 24);
  t.is(s.align, 8);
  // The execsnoop event as `#[repr(C)]` lays it out in aya-node-common.
  t.is(ExecEvent.size, 8 * 4 + 16 + 256 + 20 * 128);
});

test('values round-trip, padding is zeroed, strings of full length need no NUL', (t) => {
  const s = struct({ flag: bool, big: i64, name: cstring(4), x: f64, small: i8 });
  const value = { flag: true, big: -(1n << 63n), name: 'abcd', x: 1.5, small: -128 };
  const bytes = s.encode(value);
  t.deepEqual(s.decode(bytes), value);
  t.is(bytes[1], 0, 'padding after bool is zero');
  t.is(u64.decode(u64.encode((1n << 64n) - 1n)), (1n << 64n) - 1n);
});

test('out-of-range and wrongly typed values are INVALID_ARGUMENT errors', (t) => {
  for (const bad of [() => u8.encode(256), () => u32.encode(-1), () => u16.encode(1.5), () => u64.encode(-1n), () => cstring(3).encode('abcd'), () => struct({ a: u32 }).encode({} as { a: number })]) {
    const err = t.throws(bad);
    t.true(err instanceof EbpfError);
    t.is((err as EbpfError).code, 'INVALID_ARGUMENT');
  }
});

test('padding takes its room in the layout, is left out of decoded values and encodes as zeros', (t) => {
  const { struct, u32, u64, padding } = codec;
  const event = struct({ seq: u64, pid: u32, reserved: padding(20) });
  t.is(event.size, 32);
  const buf = event.encode({ seq: 7n, pid: 42 });
  t.deepEqual(buf.subarray(12), Buffer.alloc(20));
  const decoded = event.decode(Buffer.concat([Buffer.alloc(3), buf]), 3);
  t.deepEqual(decoded, { seq: 7n, pid: 42 });
  t.false('reserved' in decoded);
});

import test from 'ava';
import {
  ArrayMap,
  BpfMap,
  bpfSyscallCount,
  codec,
  EbpfError,
  HashMap,
  LruHashMap,
  PerCpuArray,
  PerCpuHashMap,
} from '../src';
import { AllTypes, loadMapsTest, onlineCpus, testRun } from './maps-helpers';
import { openBpfFds } from './helpers';

const { u32, u64, i64, u8, struct, cstring } = codec;

test('AllTypes codec has the #[repr(C)] layout of the eBPF side', (t) => {
  t.deepEqual(
    { ...AllTypes.offsets },
    { u8_: 0, u16_: 2, u32_: 4, u64_: 8, i8_: 16, i16_: 18, i32_: 20, i64_: 24, f32_: 32, f64_: 40, flag: 48, name: 49, short: 65, inner: 80, arr: 96, tail: 108 },
  );
  t.is(AllTypes.size, 112);
});

test('values an eBPF program wrote decode exactly: extremes, negatives, floats, full-length strings, padding', (t) => {
  using obj = loadMapsTest();
  t.is(testRun(obj.program('write_all_types'), [42n]), 0);
  const byKey = obj.map('ALL_TYPES_BY_KEY', HashMap, u32, AllTypes);
  const expected = {
    u8_: 255,
    u16_: 65535,
    u32_: 0xffffffff,
    u64_: (1n << 64n) - 1n,
    i8_: -128,
    i16_: -32768,
    i32_: -0x80000000,
    i64_: -(1n << 63n),
    f32_: -1.5,
    f64_: 2.25,
    flag: true,
    name: 'abcdefghijklmnop',
    short: 'hi',
    inner: { a: 0xbeef, b: -1n },
    arr: [-1, 0, 0x7fffffff],
    tail: 0x7f,
  };
  t.deepEqual(byKey.get(42), expected);
  t.deepEqual([...byKey.keys()], [42]);
  // The raw bytes: every padding byte the kernel left is zero, and re-encoding gives them back.
  const raw = obj.map('ALL_TYPES', ArrayMap, codec.bytes(AllTypes.size)).get(0)!;
  t.deepEqual(raw, AllTypes.encode(expected));
  for (const pad of [1, 17, 36, 37, 38, 39, 73, 74, 75, 76, 77, 78, 79, 82, 83, 84, 85, 86, 87, 109, 110, 111]) t.is(raw[pad], 0, `padding byte ${pad}`);
});

test('values TypeScript wrote are read field by field by an eBPF program', (t) => {
  using obj = loadMapsTest();
  const all = obj.map('ALL_TYPES', ArrayMap, AllTypes);
  const value = {
    u8_: 1,
    u16_: 0x1234,
    u32_: 0xdeadbeef,
    u64_: 0x0123456789abcdefn,
    i8_: -2,
    i16_: -300,
    i32_: -70000,
    i64_: -(1n << 40n),
    f32_: 0.5,
    f64_: -1e300,
    flag: false,
    name: 'x'.repeat(16),
    short: 'abcdefgh',
    inner: { a: 7, b: (1n << 63n) - 1n },
    arr: [1, -2, 3],
    tail: 200,
  };
  all.set(1, value);
  t.is(testRun(obj.program('copy_all_types')), 0);
  t.deepEqual(all.get(2), value);
});

test('hash map: get, set with modes, has, delete, keys, entries, size, clear', (t) => {
  using map = HashMap.create({ maxEntries: 8 }, u32, i64);
  t.is(map.get(1), undefined);
  map.set(1, -5n).set(2, 9n, 'only-new');
  t.is(map.get(1), -5n);
  t.true(map.has(2));
  t.is(map.size, 2);
  map.set(2, 10n, 'only-existing');
  t.is(map.get(2), 10n);
  const noEntry = t.throws(() => map.set(3, 1n, 'only-existing')) as EbpfError;
  t.is(noEntry.errnoName, 'ENOENT');
  t.deepEqual([...map.entries()].sort((a, b) => a[0] - b[0]), [[1, -5n], [2, 10n]]);
  t.true(map.delete(1));
  t.false(map.delete(1));
  t.deepEqual([...map.keys()], [2]);
  t.is(map.clear(), 1);
  t.is(map.size, 0);
});

test('LRU hash: a full map evicts instead of failing', (t) => {
  using map = LruHashMap.create({ maxEntries: 4 }, u32, u64);
  for (let i = 0; i < 64; i++) map.set(i, BigInt(i));
  t.true(map.size <= 8, `size ${map.size}`);
  t.is(map.get(63), 63n, 'the newest entry is kept');
});

test('array map: every slot exists, index past max_entries is rejected, delete is unsupported', (t) => {
  using arr = ArrayMap.create({ maxEntries: 4 }, u64);
  t.is(arr.get(3), 0n);
  arr.set(3, 7n);
  t.deepEqual([...arr.entries()], [[0, 0n], [1, 0n], [2, 0n], [3, 7n]]);
  const past = t.throws(() => arr.set(4, 1n)) as EbpfError;
  t.is(past.code, 'INVALID_ARGUMENT');
  t.regex(past.message, /max_entries/);
  t.is((t.throws(() => arr.delete(0)) as EbpfError).code, 'UNSUPPORTED');
  t.is((t.throws(() => arr.set(0, 1n, 'only-new')) as EbpfError).errnoName, 'EEXIST');
  t.is(arr.get(0), 0n);
});

const cpus = onlineCpus();
const perCpuSkip = cpus.length < 2 ? `only ${cpus.length} online CPU` : undefined;
if (perCpuSkip) console.log(`skip: per-CPU test needs 2 CPUs: ${perCpuSkip}`);
(perCpuSkip ? test.skip : test)(`per-CPU array and hash hold one value per CPU, from runs on several CPUs ${perCpuSkip ?? ''}`, (t) => {
  using obj = loadMapsTest();
  const prog = obj.program('count_per_cpu');
  const [a, b] = cpus;
  for (let i = 0; i < 3; i++) testRun(prog, [5n], a);
  for (let i = 0; i < 5; i++) testRun(prog, [5n], b);
  const counts = obj.map('PER_CPU_COUNT', PerCpuArray, u64).get(0)!;
  const byKey = obj.map('PER_CPU_HASH', PerCpuHashMap, u32, u64);
  t.is(counts[a], 3n);
  t.is(counts[b], 5n);
  t.is(counts.reduce((x, y) => x + y, 0n), 8n);
  const perCpu = byKey.get(5)!;
  t.is(perCpu[a], 3n);
  t.is(perCpu[b], 5n);
  t.deepEqual([...byKey.keys()], [5]);
  // Writing a per-CPU value from user space sets every CPU's slot.
  byKey.set(6, perCpu.map((_, cpu) => BigInt(cpu * 10)));
  t.deepEqual(byKey.get(6), perCpu.map((_, cpu) => BigInt(cpu * 10)));
});

test('batch: entries() of a 100,000-entry hash map returns every entry once, in a few syscalls', (t) => {
  const n = 100_000;
  using map = HashMap.create({ maxEntries: n }, u32, u64);
  const before = bpfSyscallCount();
  const written = map.setMany(Array.from({ length: n }, (_, i) => [i, BigInt(i) * 3n] as const));
  t.is(written, n);
  t.true(bpfSyscallCount() - before <= 2n, 'setMany is one UPDATE_BATCH');
  const start = bpfSyscallCount();
  const seen = new Map<number, bigint>();
  for (const [k, v] of map.entries({ batchSize: 8192 })) {
    t.false(seen.has(k), `key ${k} seen twice`);
    seen.set(k, v);
  }
  const calls = bpfSyscallCount() - start;
  t.is(seen.size, n);
  for (let i = 0; i < n; i += 997) t.is(seen.get(i), BigInt(i) * 3n);
  t.true(calls <= 20n, `${calls} syscalls for ${n} entries`);
  t.log(`entries() of ${n} entries: ${calls} bpf() syscalls`);
});

test('batch: iteration survives entries deleted while it runs', (t) => {
  using map = HashMap.create({ maxEntries: 1000 }, u32, u32);
  map.setMany(Array.from({ length: 1000 }, (_, i) => [i, i] as const));
  const seen = new Set<number>();
  let deleted = 0;
  for (const [k] of map.entries({ batchSize: 64 })) {
    t.false(seen.has(k));
    seen.add(k);
    // Delete some keys not seen yet.
    for (let d = 0; d < 1000 && deleted < 300; d++) {
      if (!seen.has(d) && map.delete(d)) deleted++;
    }
  }
  t.is(deleted, 300);
  t.true(seen.size >= 700 && seen.size <= 1000, `saw ${seen.size}`);
  t.is(map.size, 700);
});

test('batch: deleteMany and drain', (t) => {
  using map = HashMap.create({ maxEntries: 100 }, u32, u8);
  map.setMany([[1, 1], [2, 2], [3, 3], [4, 4]]);
  t.is(map.deleteMany([1, 9, 3]), 2, 'a missing key is skipped');
  t.deepEqual(map.drain().sort(), [[2, 2], [4, 4]]);
  t.is(map.size, 0);
});

test('bad input: wrong key size/type, out-of-range value, only-new on an existing key leave the map unchanged', (t) => {
  using map = HashMap.create({ maxEntries: 8 }, u32, u8);
  map.set(1, 10);
  const snapshot = () => [...map.entries()];
  const before = snapshot();
  const calls = bpfSyscallCount();
  for (const bad of [
    () => map.set('1' as unknown as number, 1),
    () => map.set(-1, 1),
    () => map.set(2, 256),
    () => map.set(2, -1),
    () => map.get(1.5),
  ]) {
    const err = t.throws(bad) as EbpfError;
    t.true(err instanceof EbpfError);
    t.is(err.code, 'INVALID_ARGUMENT');
  }
  t.is(bpfSyscallCount(), calls, 'no syscall was made for invalid input');
  const exists = t.throws(() => map.set(1, 11, 'only-new')) as EbpfError;
  t.is(exists.code, 'KERNEL');
  t.is(exists.errnoName, 'EEXIST');
  t.is(exists.syscall, 'BPF_MAP_UPDATE_ELEM');
  t.deepEqual(snapshot(), before);

  // Codecs whose sizes do not match the map: refused when opening, before any write.
  using obj = loadMapsTest();
  const wrongKey = t.throws(() => obj.map('ALL_TYPES_BY_KEY', HashMap, u64, AllTypes)) as EbpfError;
  t.is(wrongKey.code, 'INVALID_ARGUMENT');
  t.regex(wrongKey.message, /key codec u64 is 8 bytes, the map's keys are 4 bytes/);
  const wrongValue = t.throws(() => obj.map('ALL_TYPES_BY_KEY', HashMap, u32, struct({ s: cstring(8) }))) as EbpfError;
  t.is(wrongValue.code, 'INVALID_ARGUMENT');
  const wrongType = t.throws(() => obj.map('ALL_TYPES', HashMap, u32, AllTypes)) as EbpfError;
  t.is(wrongType.code, 'WRONG_TYPE');
  t.is((t.throws(() => obj.map('NOPE', HashMap, u32, u32)) as EbpfError).code, 'NOT_FOUND');
});

test('maps open by pin path and by kernel id and see the same data', (t) => {
  using map = HashMap.create({ maxEntries: 4, name: 'pinned_test' }, u32, u32);
  map.set(1, 2);
  const path = `/sys/fs/bpf/aya_node_maps_${process.pid}`;
  map.pin(path);
  t.teardown(() => require('node:fs').rmSync(path, { force: true }));
  using byPin = BpfMap.fromPin(path, HashMap, u32, u32);
  using byId = BpfMap.fromId(map.id, HashMap, u32, u32);
  t.is(byPin.id, map.id);
  t.is(byPin.name, 'pinned_test');
  byId.set(3, 4);
  t.deepEqual([...byPin.entries()].sort((a, b) => a[0] - b[0]), [[1, 2], [3, 4]]);
  t.is((t.throws(() => BpfMap.fromPin('/sys/fs/bpf/nonexistent_aya_node', HashMap, u32, u32)) as EbpfError).code, 'NOT_FOUND');
});

test('every map fd is released: by close(), by using, and by closing the object', (t) => {
  const before = openBpfFds();
  {
    using created = HashMap.create({ maxEntries: 4 }, u32, u32);
    created.set(1, 1);
  }
  const obj = loadMapsTest();
  const objectFds = openBpfFds();
  const a = obj.map('ALL_TYPES_BY_KEY', HashMap, u32, AllTypes);
  const b = obj.map('RESULT', ArrayMap, u64);
  t.is(openBpfFds(), objectFds + 2, 'each opened map is one duplicated fd');
  a.close();
  t.true(a.closed);
  t.is((t.throws(() => a.get(1)) as EbpfError).code, 'CLOSED');
  // A failed open (wrong codec) leaves no fd behind.
  t.throws(() => obj.map('RESULT', ArrayMap, u32));
  t.is(openBpfFds(), objectFds + 1);
  obj.close();
  t.true(b.closed, 'closing the object closes the maps opened from it');
  t.is(openBpfFds(), before);
});

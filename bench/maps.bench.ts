// Map operations from TypeScript against the same operations in a Rust loop (no JS) in the same
// run: get/set ops per second on a hash map (the same key on both sides), and entries per
// second of batch iteration.
// Needs root (creates kernel maps). Run: npm run bench (builds the native hooks it drives)

import './native'; // first: loads the native module built with the benchmark hooks
import type * as bench from './native';
import { bpfSyscallCount, codec, HashMap } from '../src';

const ENTRIES = 100_000;
const OPS = 300_000;

function rate(count: number, ns: number): number {
  return (count / ns) * 1e9;
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US').padStart(13);
}

function report(name: string, jsRate: number, nativeRate: number, unit: string): void {
  console.log(`${name.padEnd(34)} ts ${fmt(jsRate)} ${unit}/s   native ${fmt(nativeRate)} ${unit}/s   ts/native ${(jsRate / nativeRate).toFixed(2)}`);
}

using map = HashMap.create({ maxEntries: ENTRIES, name: 'bench_hash' }, codec.u32, codec.u64);
map.setMany(Array.from({ length: ENTRIES }, (_, i) => [i, BigInt(i)] as const));
const handle = map.nativeHandle as unknown as bench.MapHandle;
const key = codec.u32.encode(12345);
const value = codec.u64.encode(777n);

// Warm up both paths.
for (let i = 0; i < 10_000; i++) map.get(i);
handle.benchLookup(key, 10_000);

{
  const start = process.hrtime.bigint();
  for (let i = 0; i < OPS; i++) map.get(12345);
  const jsNs = Number(process.hrtime.bigint() - start);
  const nativeNs = handle.benchLookup(key, OPS);
  report('hash get (u32 -> u64)', rate(OPS, jsNs), rate(OPS, nativeNs), 'ops');
}
{
  const start = process.hrtime.bigint();
  for (let i = 0; i < OPS; i++) map.set(12345, 777n);
  const jsNs = Number(process.hrtime.bigint() - start);
  const nativeNs = handle.benchUpdate(key, value, OPS);
  report('hash set (u32 -> u64)', rate(OPS, jsNs), rate(OPS, nativeNs), 'ops');
}
for (const batchSize of [4096, 16384]) {
  const calls = bpfSyscallCount();
  const start = process.hrtime.bigint();
  let n = 0;
  for (const _ of map.entries({ batchSize })) n++;
  const jsNs = Number(process.hrtime.bigint() - start);
  const syscalls = bpfSyscallCount() - calls;
  const native = handle.benchIterate(batchSize);
  if (n !== ENTRIES || native.entries !== ENTRIES) throw new Error(`iteration saw ${n} / ${native.entries} of ${ENTRIES}`);
  report(`entries() batch ${batchSize} (${syscalls} syscalls)`, rate(n, jsNs), rate(native.entries, native.elapsedNs), 'entries');
}

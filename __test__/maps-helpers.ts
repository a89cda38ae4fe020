// Helpers for the map tests: the maps_test object and BPF_PROG_TEST_RUN of its programs.

import { bundledObjectPath, codec, Ebpf, type Program } from '../src';

const { struct, u8, u16, u32, u64, i8, i16, i32, i64, f32, f64, bool, cstring, array } = codec;

export function loadMapsTest(): Ebpf {
  return Ebpf.load(bundledObjectPath('maps_test'));
}

/** Runs a raw tracepoint program once with `args` as its context, optionally on `cpu`. */
export function testRun(program: Program, args: bigint[] = [], cpu?: number): number {
  const ctx = Buffer.alloc(Math.max(args.length, 1) * 8);
  args.forEach((a, i) => ctx.writeBigUInt64LE(a, i * 8));
  return program.testRun({ ctx, cpu }).returnValue;
}

/** `AllTypes` as ebpf/programs/src/bin/maps_test.rs declares it. */
export const Inner = struct({ a: u16, b: i64 });
export const AllTypes = struct({
  u8_: u8,
  u16_: u16,
  u32_: u32,
  u64_: u64,
  i8_: i8,
  i16_: i16,
  i32_: i32,
  i64_: i64,
  f32_: f32,
  f64_: f64,
  flag: bool,
  name: cstring(16),
  short: cstring(8),
  inner: Inner,
  arr: array(i32, 3),
  tail: u8,
});

/** The CPUs this process may run on (BPF_F_TEST_RUN_ON_CPU needs online ones). */
export function onlineCpus(): number[] {
  const text = require('node:fs').readFileSync('/sys/devices/system/cpu/online', 'utf8').trim() as string;
  const out: number[] = [];
  for (const part of text.split(',')) {
    const [a, b] = part.split('-').map(Number);
    for (let c = a; c <= (b ?? a); c++) out.push(c);
  }
  return out;
}

// Helpers for the program-type tests: the event the small test programs send and globals; network
// namespaces, cgroups, waiting and probing come from the public kit (src/testing).

import { execFileSync } from 'node:child_process';
import type { ExecutionContext } from 'ava';
import { codec, type Ebpf, type GlobalValue, type Infer } from '../src';
import { testCgroup as kitCgroup } from '../src/testing';
import { kernelLinks } from './helpers';

/** `{ tgid, tag, value }`, as ebpf/programs/src/test_event.rs sends it. */
export const TestEvent = codec.struct({ tgid: codec.u32, tag: codec.u32, value: codec.i64 });
export type TestEvent = Infer<typeof TestEvent>;

export const u16 = (value: number): GlobalValue => ({ codec: codec.u16, value });
export const u32 = (value: number): GlobalValue => ({ codec: codec.u32, value });
export const u64 = (value: number | bigint): GlobalValue => ({ codec: codec.u64, value: BigInt(value) });

export { collectEvents as collect, uniqueName, vethPair, ifIndexIn, udpEchoServer, udpRoundTrip, cgroup2Root, bpfLsmUnavailableReason, eventually, type VethPair } from '../src/testing';

/** A fresh cgroup v2 directory, removed when the test ends (its processes must have exited). */
export function testCgroup(t: ExecutionContext): string {
  return kitCgroup(t).path;
}

/** The syscall number of openat on this machine. */
export function openatSyscallNumber(): number {
  switch (process.arch) {
    case 'x64':
      return 257;
    case 'arm64':
      return 56;
    default:
      throw new Error(`no openat syscall number known for ${process.arch}`);
  }
}

let kernelProgramTypes: Record<string, boolean> | undefined;
/**
 * Why the kernel cannot load programs of `type` (bpftool's name: tracing, lsm, ...), from
 * `bpftool feature probe kernel`, or undefined when it can.
 */
export function programTypeUnavailableReason(type: string): string | undefined {
  kernelProgramTypes ??= JSON.parse(execFileSync('bpftool', ['feature', 'probe', 'kernel', '-j'], { encoding: 'utf8' }))
    .program_types as Record<string, boolean>;
  return kernelProgramTypes[`have_${type}_prog_type`] === false
    ? `the kernel refuses BPF_PROG_TYPE_${type.toUpperCase()} programs attached through trampolines (bpftool feature probe: have_${type}_prog_type false; BPF_PROG_LOAD fails with EPERM)`
    : undefined;
}

/**
 * Whether the kernel has no link of program `name` of `obj` (true when it is not even loaded).
 * Tests run in parallel processes, so counting all of the kernel's links would race.
 */
export function noLinksOf(obj: Ebpf, name: string): boolean {
  const program = obj.program(name);
  return !program.loaded || !kernelLinks().some((l) => l.prog_id === program.id);
}

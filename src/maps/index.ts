// Typed maps, one file per map family.

export { BpfMap, KeyedMap, MapType, type MapClass, type UpdateMode, type CreateOptions, type EntriesOptions } from './map';
export { HashMap, LruHashMap } from './hash-map';
export { ArrayMap } from './array';
export { PerCpuHashMap, LruPerCpuHashMap, PerCpuArray, possibleCpus } from './per-cpu';
export { LpmTrie, type LpmKey } from './lpm-trie';
export { Queue, Stack } from './queue-stack';
export { BloomFilter } from './bloom-filter';
export { StackTraceMap, resolveKernelAddresses, type StackFrame } from './stack-trace';
export { ProgramArray } from './program-array';
export { ArrayOfMaps, HashOfMaps } from './of-maps';
export { SockMap, SockHash, type SocketLike } from './sock';
export { DevMap, DevMapHash, CpuMap, XskMap } from './xdp-maps';
export { StructOpsMap, type StructOpsDescriptor, type StructOpsRegisterOptions, type StructOpsMemberValue } from './struct-ops';

import * as native from '../native';

/** bpf() syscalls made by the map layer in this process: shows how many calls an operation took. */
export function bpfSyscallCount(): bigint {
  return native.bpfSyscallCount();
}

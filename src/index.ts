// aya-node: eBPF for Node.js and TypeScript, on top of Aya.

export { Ebpf, type LoadOptions, type GlobalValue, type ProgramDescriptor, type MapDescriptor } from './object';
export { Link } from './link';
export { Program, TracePoint, type ProgramClass } from './programs';
export { RingBuf, type RingBufReadOptions } from './maps/ring-buf';
export * as codec from './codec';
export { type Codec, type Infer, StructCodec } from './codec';
export { EbpfError, VerifierError, NotFoundError, PermissionError, type EbpfErrorCode } from './errors';
export { structMemberOffset } from './btf';
export { Execsnoop, ExecEvent } from './tools/execsnoop';
export { bundledObjectPath } from './tools/objects';
export {
  BpfMap,
  KeyedMap,
  MapType,
  type MapClass,
  type UpdateMode,
  type CreateOptions,
  type EntriesOptions,
  HashMap,
  LruHashMap,
  ArrayMap,
  PerCpuHashMap,
  LruPerCpuHashMap,
  PerCpuArray,
  possibleCpus,
  LpmTrie,
  type LpmKey,
  Queue,
  Stack,
  BloomFilter,
  StackTraceMap,
  resolveKernelAddresses,
  type StackFrame,
  ProgramArray,
  ArrayOfMaps,
  HashOfMaps,
  SockMap,
  SockHash,
  type SocketLike,
  DevMap,
  DevMapHash,
  CpuMap,
  XskMap,
  bpfSyscallCount,
} from './maps';

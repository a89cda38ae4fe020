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
export { type TestRunOptions, type TestRunResult } from './test-run';
export { loadedPrograms, loadedMaps, loadedLinks, loadedProgram, enableStats, StatsScope, type LoadedProgram, type LoadedMap, type LoadedLink } from './info';
export { PinnedObject, unpin, checkBpffs, type PinnedKind } from './pin';
export { kernelFeatures, isProgramTypeSupported, isMapTypeSupported, isHelperSupported, knownTypes, type KernelFeatures } from './features';

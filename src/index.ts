// aya-node: eBPF for Node.js and TypeScript, on top of Aya.

export { Ebpf, type LoadOptions, type GlobalValue, type ProgramDescriptor, type MapDescriptor } from './object';
export { Link } from './link';
export { Program, TracePoint, type ProgramClass } from './programs';
export {
  RawTracePoint,
  BtfTracePoint,
  FEntry,
  FExit,
  Lsm,
  KProbe,
  UProbe,
  type UProbeTarget,
  PerfEvent,
  softwareEvents,
  hardwareEvents,
  type PerfEventOptions,
  type SoftwareEventName,
  type HardwareEventName,
  Xdp,
  type XdpOptions,
  SchedClassifier,
  type TcOptions,
  SocketFilter,
  type SocketLike,
  CgroupSkb,
  type CgroupSkbOptions,
  type CgroupAttachMode,
  CgroupSockAddr,
} from './programs';
export { RingBuf, type RingBufReadOptions } from './maps/ring-buf';
export * as codec from './codec';
export { type Codec, type Infer, StructCodec } from './codec';
export { EbpfError, VerifierError, NotFoundError, PermissionError, type EbpfErrorCode } from './errors';
export { structMemberOffset } from './btf';
export { Execsnoop, ExecEvent } from './tools/execsnoop';
export { bundledObjectPath } from './tools/objects';

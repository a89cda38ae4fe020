// aya-node: eBPF for Node.js and TypeScript, on top of Aya.

export { Ebpf, type LoadOptions, type GlobalValue, type ProgramDescriptor, type MapDescriptor } from './object';
export { Link } from './link';
export { Program, TracePoint, type ProgramClass } from './programs';
export { RingBuf, type RingBufOptions } from './streams/ring-buf';
export { PerfEventArray, type PerfEventArrayOptions, type PerfSample } from './streams/perf-event-array';
export { EventStream, RecordBatch, type StreamReadOptions } from './streams/stream';
export { EbpfLogs, type LogRecord, type LogLevel, type Logger } from './streams/logs';
export { TracePipe, parseTraceLine, type TraceLine } from './streams/trace-pipe';
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
  SkMsg,
  SkSkb,
  SockOps,
  type SockMapLike,
  CgroupSysctl,
  CgroupDevice,
  CgroupSock,
  CgroupSockopt,
  SkLookup,
  FlowDissector,
  Iter,
  IterLink,
  Syscall,
  StructOps,
  LibbpfUsdt,
  type LibbpfUsdtTarget,
} from './programs';
export * as codec from './codec';
export { type Codec, type Infer, StructCodec } from './codec';
export { EbpfError, VerifierError, NotFoundError, PermissionError, type EbpfErrorCode } from './errors';
export { structMemberOffset } from './btf';
export { Execsnoop, ExecEvent, type Exec, type ExecsnoopOptions } from './tools/execsnoop';
export { Tcplife, TcpLifeEvent, type TcpLife, type TcplifeOptions } from './tools/tcplife';
export { Opensnoop, OpenEvent, type Open, type OpensnoopOptions } from './tools/opensnoop';
export { bundledObjectPath } from './tools/objects';
export { MAX_RING_SIZE, type RingToolOptions } from './tools/tool';
export { syscallGlobals } from './tools/syscalls';
export { Syscount, type SyscallCount, type CommSyscallCount, type SyscountOptions } from './tools/syscount';
export { Biolatency, Runqlat, type LatencyTotals } from './tools/latency';
export { Profile, type ProfileOptions, type StackSample } from './tools/profile';
export { renderHistogram, log2Histogram, type Histogram, type Bucket } from './tools/histogram';
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
  DevMap,
  DevMapHash,
  CpuMap,
  XskMap,
  StructOpsMap,
  type StructOpsDescriptor,
  type StructOpsRegisterOptions,
  type StructOpsMemberValue,
  bpfSyscallCount,
} from './maps';
export { type TestRunOptions, type TestRunResult } from './test-run';
export { loadedPrograms, loadedMaps, loadedLinks, loadedProgram, enableStats, StatsScope, type LoadedProgram, type LoadedMap, type LoadedLink } from './info';
export { PinnedObject, unpin, checkBpffs, type PinnedKind } from './pin';
export { kernelFeatures, isProgramTypeSupported, isMapTypeSupported, isHelperSupported, knownTypes, type KernelFeatures } from './features';
export { mapTypes, programTypes, mapTypeName, programTypeName } from './kinds';
export { Usdt, UsdtLink, parseUsdtArg, parseUsdtArgs, usdtProbes, resolveUsdtTarget, type UsdtArgSpec, type UsdtProbe, type UsdtTarget, type UsdtArch } from './programs/usdt';
export { OffCpu, type OffCpuOptions } from './tools/offcpu';
export { StackCounts, type ProfileKeyValue } from './tools/profile';
export { PerfMap, parsePerfMapLine, type PerfMapSymbol } from './tools/perf-map';
export { flameGraphSvg, speedscopeJson, foldedStacks, type WeightedStack, type FlameGraphOptions } from './tools/flamegraph';
export { demangle } from './tools/demangle';
export { frameLabel, type Frame } from './tools/symbolize';
export { PyCalls, pythonWithProbes, type PyCallsOptions, type PyCallCount } from './tools/pycalls';

import { Program, type ProgramClass } from './program';
import { TracePoint } from './trace-point';
import { RawTracePoint } from './raw-trace-point';
import { BtfTracePoint } from './btf-trace-point';
import { FEntry } from './fentry';
import { FExit } from './fexit';
import { Lsm } from './lsm';
import { KProbe } from './kprobe';
import { UProbe } from './uprobe';
import { PerfEvent } from './perf-event';
import { Xdp } from './xdp';
import { SchedClassifier } from './tc';
import { SocketFilter } from './socket-filter';
import { CgroupSkb } from './cgroup-skb';
import { CgroupSockAddr } from './cgroup-sock-addr';
import { SkMsg } from './sk-msg';
import { SkSkb } from './sk-skb';
import { SockOps } from './sock-ops';
import { CgroupSysctl } from './cgroup-sysctl';
import { CgroupDevice } from './cgroup-device';
import { CgroupSock } from './cgroup-sock';
import { CgroupSockopt } from './cgroup-sockopt';
import { SkLookup } from './sk-lookup';
import { FlowDissector } from './flow-dissector';
import { Iter } from './iter';
import { Syscall } from './syscall';
import { StructOps } from './struct-ops';
import { LibbpfUsdt } from './libbpf-usdt';

export { Program, type ProgramClass } from './program';
export { Syscall } from './syscall';
export { StructOps } from './struct-ops';
export { LibbpfUsdt, type LibbpfUsdtTarget } from './libbpf-usdt';
export { TracePoint } from './trace-point';
export { RawTracePoint } from './raw-trace-point';
export { BtfTracePoint } from './btf-trace-point';
export { FEntry } from './fentry';
export { FExit } from './fexit';
export { Lsm } from './lsm';
export { KProbe } from './kprobe';
export { UProbe, type UProbeTarget } from './uprobe';
export {
  PerfEvent,
  softwareEvents,
  hardwareEvents,
  type PerfEventOptions,
  type SoftwareEventName,
  type HardwareEventName,
} from './perf-event';
export { Xdp, type XdpOptions } from './xdp';
export { SchedClassifier, type TcOptions } from './tc';
export { SocketFilter, type SocketLike } from './socket-filter';
export { CgroupSkb, type CgroupSkbOptions, type CgroupAttachMode } from './cgroup-skb';
export { CgroupSockAddr } from './cgroup-sock-addr';
export { SkMsg } from './sk-msg';
export { SkSkb } from './sk-skb';
export { SockOps } from './sock-ops';
export { type SockMapLike } from './sock-map-target';
export { CgroupSysctl } from './cgroup-sysctl';
export { CgroupDevice } from './cgroup-device';
export { CgroupSock } from './cgroup-sock';
export { CgroupSockopt } from './cgroup-sockopt';
export { SkLookup } from './sk-lookup';
export { FlowDissector } from './flow-dissector';
export { Iter, IterLink } from './iter';
export { Usdt, UsdtLink } from './usdt';

/** The class for each program kind that has one; other kinds come back as plain `Program`. */
export const programClasses: ReadonlyMap<string, ProgramClass<Program>> = new Map(
  [
    TracePoint,
    RawTracePoint,
    BtfTracePoint,
    FEntry,
    FExit,
    Lsm,
    KProbe,
    UProbe,
    PerfEvent,
    Xdp,
    SchedClassifier,
    SocketFilter,
    CgroupSkb,
    CgroupSockAddr,
    SkMsg,
    SkSkb,
    SockOps,
    CgroupSysctl,
    CgroupDevice,
    CgroupSock,
    CgroupSockopt,
    SkLookup,
    FlowDissector,
    Iter,
    Syscall,
    StructOps,
    LibbpfUsdt,
  ].map((cls) => [cls.kind, cls as ProgramClass<Program>]),
);

// aya-node/testing: what a test suite for one's own eBPF programs needs, against the real
// kernel: network namespaces with a veth pair, a cgroup with processes in it, packets for test
// runs, waiting for events, recognisable processes, and skipping with a probed reason.

export { uniqueName, type TeardownOwner } from './owner';
export { waitForEvent, collectEvents, within, eventually, type WaitOptions, type EventSource } from './events';
export { udpFrame, basePacket, type UdpPacket, XDP_ABORTED, XDP_DROP, XDP_PASS, XDP_TX, XDP_REDIRECT } from './packets';
export { vethPair, ifIndexIn, udpEchoServer, udpRoundTrip, type VethPair } from './net';
export { cgroup2Root, testCgroup, runInCgroup, type TestCgroup, type CgroupRun } from './cgroup';
export { uniqueExecutable, start, run, type UniqueExecutable } from './process';
export { requirementsUnmet, bpfLsmUnavailableReason, type Requirements } from './probe';

import test from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import {
  bundledObjectPath,
  CgroupDevice,
  CgroupSock,
  CgroupSockopt,
  CgroupSysctl,
  codec,
  Ebpf,
  EbpfError,
  FlowDissector,
  Iter,
  NotFoundError,
  PerCpuArray,
  SkLookup,
  SockMap,
  structMemberOffset,
} from '../src';
import { udpFrame } from './loader-packets';
import { runInCgroup as kitRunInCgroup } from '../src/testing';
import { collect, eventually, noLinksOf, testCgroup, TestEvent, u16, u32, uniqueName, vethPair } from './programs-helpers';

/** Runs `command args...` as a process of `cgroup` (it moves itself in, then execs). */
const runInCgroup = kitRunInCgroup;

/** Runs `node -e script` in `cgroup`. */
const nodeInCgroup = (cgroup: string, script: string) => runInCgroup(cgroup, process.execPath, ['-e', script]);

// ---------------------------------------------------------------------------------------------
// Program metadata: the ELF section each program came from.

test('a program reports the ELF section it came from, for programs of different types', (t) => {
  const expected: Array<[object: string, program: string, section: string]> = [
    ['loader_test', 'tp_count', 'tracepoint'],
    ['execsnoop', 'execsnoop_enter', 'raw_tp/sys_enter'],
    ['btf_tracepoint', 'btf_sys_enter', 'tp_btf/sys_enter'],
    ['cgroup_sock', 'deny_udp4_sockets', 'cgroup/sock_create'],
    ['cgroup_sockopt', 'deny_so_broadcast', 'cgroup/setsockopt'],
    ['cgroup_sysctl', 'deny_sysctl', 'cgroup/sysctl'],
    ['iter_task', 'dump_task_tgids', 'iter/task'],
  ];
  for (const [object, program, section] of expected) {
    const path = bundledObjectPath(object);
    using obj = Ebpf.load(path);
    t.is(obj.program(program).section, section, `${object}: ${program}`);
    // The same name is in the object's section headers, as readelf sees them.
    const headers = execFileSync('llvm-readelf', ['-S', '-W', path], { encoding: 'utf8' });
    t.true(headers.split('\n').some((line) => line.split(/\s+/).includes(section)), `${section} is a section of ${object}`);
  }
});

// ---------------------------------------------------------------------------------------------
// cgroup_sysctl

test('cgroup_sysctl refuses reads and writes of one sysctl to a cgroup, others and outsiders unaffected, until detached', async (t) => {
  const cgroup = testCgroup(t);
  using obj = Ebpf.load(bundledObjectPath('cgroup_sysctl'), { globals: { DENY_NAME: { codec: codec.cstring(16), value: 'hostname' } } });
  const events = obj.ringBuf('EVENTS', TestEvent);
  const link = obj.program('deny_sysctl', CgroupSysctl).attach(cgroup);
  t.is(link.kind, 'cgroup_sysctl');

  const read = await runInCgroup(cgroup, 'cat', ['/proc/sys/kernel/hostname']);
  t.not(read.code, 0);
  t.regex(read.stderr, /Operation not permitted/);
  // A write, in a UTS namespace of the child's own so the host's name is never touched.
  // (/bin/echo: dash's builtin reports every write error as an I/O error.)
  const write = await runInCgroup(cgroup, 'unshare', ['--uts', 'sh', '-c', 'exec /bin/echo aya-node-test > /proc/sys/kernel/hostname']);
  t.not(write.code, 0);
  t.regex(write.stderr, /Operation not permitted/);
  const other = await runInCgroup(cgroup, 'cat', ['/proc/sys/kernel/ostype']);
  t.is(other.stdout, 'Linux\n', 'another sysctl is readable in the cgroup');
  t.not(readFileSync('/proc/sys/kernel/hostname', 'utf8'), '', 'this process, outside the cgroup, still reads it');

  const seen = await collect(events, 100);
  t.true(seen.some((e) => e.tgid === read.pid && e.value === 0n), 'the read was reported as a read');
  t.true(seen.some((e) => e.value === 1n), 'the write was reported as a write');

  link.detach();
  t.true(await eventually(() => noLinksOf(obj, 'deny_sysctl')), 'the kernel link is gone');
  const after = await runInCgroup(cgroup, 'cat', ['/proc/sys/kernel/hostname']);
  t.is(after.code, 0);
  t.is(after.stdout, readFileSync('/proc/sys/kernel/hostname', 'utf8'));
});

// ---------------------------------------------------------------------------------------------
// cgroup_device

test('cgroup_device refuses a cgroup opening and creating one character device (/dev/zero), until detached', async (t) => {
  const cgroup = testCgroup(t);
  const dir = mkdtempSync(join(tmpdir(), 'aya-node-dev-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  using obj = Ebpf.load(bundledObjectPath('cgroup_device'), { globals: { DENY_MAJOR: u32(1), DENY_MINOR: u32(5) } });
  const events = obj.ringBuf('EVENTS', TestEvent);
  const link = obj.program('deny_char_device', CgroupDevice).attach(cgroup);

  const open = await runInCgroup(cgroup, 'head', ['-c', '4', '/dev/zero']);
  t.not(open.code, 0);
  t.regex(open.stderr, /Operation not permitted/);
  const mknod = await runInCgroup(cgroup, 'mknod', [join(dir, 'zero'), 'c', '1', '5']);
  t.not(mknod.code, 0);
  t.regex(mknod.stderr, /Operation not permitted/);
  const devNull = await runInCgroup(cgroup, 'cat', ['/dev/null']);
  t.is(devNull.code, 0, '/dev/null (1:3) is still allowed');

  const seen = await collect(events, 100);
  const READ = 2;
  const MKNOD = 1;
  t.true(seen.some((e) => e.tgid === open.pid && e.value === 5n && (e.tag & READ) !== 0), 'the open for reading was reported');
  t.true(seen.some((e) => e.tgid === mknod.pid && (e.tag & MKNOD) !== 0), 'the mknod was reported');

  link.detach();
  const after = await runInCgroup(cgroup, 'head', ['-c', '4', '/dev/zero']);
  t.is(after.code, 0);
  t.is(after.stdout, '\0\0\0\0');
});

// ---------------------------------------------------------------------------------------------
// cgroup_sock and cgroup_sockopt

test('cgroup_sock (sock_create) refuses a cgroup IPv4 UDP sockets, TCP unaffected, until detached', async (t) => {
  const cgroup = testCgroup(t);
  using obj = Ebpf.load(bundledObjectPath('cgroup_sock'));
  const events = obj.ringBuf('EVENTS', TestEvent);
  const link = obj.program('deny_udp4_sockets', CgroupSock).attach(cgroup);
  const script = `
    const s = require('node:dgram').createSocket('udp4');
    s.on('error', (e) => { console.log('udp ' + e.code); tcp(); });
    s.bind(0, '127.0.0.1', () => { console.log('udp ok'); s.close(); tcp(); });
    function tcp() {
      const server = require('node:net').createServer();
      server.on('error', (e) => console.log('tcp ' + e.code));
      server.listen(0, '127.0.0.1', () => { console.log('tcp ok'); server.close(); });
    }`;
  const denied = await nodeInCgroup(cgroup, script);
  t.is(denied.stdout, 'udp EPERM\ntcp ok\n');
  t.true((await collect(events, 100)).some((e) => e.tgid === denied.pid && e.value === 17n), 'the UDP socket was reported');
  link.detach();
  t.is((await nodeInCgroup(cgroup, script)).stdout, 'udp ok\ntcp ok\n');
});

test('cgroup_sockopt (setsockopt) refuses a cgroup SO_BROADCAST, other options unaffected, until detached', async (t) => {
  const cgroup = testCgroup(t);
  using obj = Ebpf.load(bundledObjectPath('cgroup_sockopt'));
  const events = obj.ringBuf('EVENTS', TestEvent);
  const link = obj.program('deny_so_broadcast', CgroupSockopt).attach(cgroup);
  const script = `
    const s = require('node:dgram').createSocket('udp4');
    s.bind(0, '127.0.0.1', () => {
      try { s.setTTL(7); console.log('ttl ok'); } catch (e) { console.log('ttl ' + e.code); }
      try { s.setBroadcast(true); console.log('broadcast ok'); } catch (e) { console.log('broadcast ' + e.code); }
      s.close();
    });`;
  const denied = await nodeInCgroup(cgroup, script);
  t.is(denied.stdout, 'ttl ok\nbroadcast EPERM\n');
  const SO_BROADCAST = 6n;
  t.true((await collect(events, 100)).some((e) => e.tgid === denied.pid && e.value === SO_BROADCAST));
  link.detach();
  t.is((await nodeInCgroup(cgroup, script)).stdout, 'ttl ok\nbroadcast ok\n');
});

// ---------------------------------------------------------------------------------------------
// sk_lookup

/** A fresh network namespace with `lo` up; removed when the test ends. */
function netns(t: ExecutionContext): { name: string; path: string } {
  const name = uniqueName('ayaL');
  t.teardown(() => {
    try {
      execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  });
  execFileSync('ip', ['netns', 'add', name]);
  execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  return { name, path: `/run/netns/${name}` };
}

/**
 * TCP servers inside `ns` on 127.0.0.1:`ports`, each answering a connection with its own port.
 * The one on `share` is also sent to this process (over the IPC channel), which gets a
 * listening socket of its own to store in a SockMap.
 */
async function tcpServersIn(t: ExecutionContext, ns: string, ports: number[], share: number): Promise<import('node:net').Server> {
  const script = `
    const net = require('node:net');
    let ready = 0;
    for (const port of ${JSON.stringify(ports)}) {
      const server = net.createServer((c) => c.end(String(port)));
      server.listen(port, '127.0.0.1', () => {
        if (port === ${share}) process.send('shared', server);
        if (++ready === ${ports.length}) process.send('ready');
      });
    }`;
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  t.teardown(() => void child.kill('SIGKILL'));
  let shared: import('node:net').Server | undefined;
  await new Promise<void>((resolve, reject) => {
    child.on('message', (message, handle) => {
      if (message === 'shared') shared = handle as import('node:net').Server;
      if (message === 'ready') resolve();
    });
    child.on('exit', (code) => reject(new Error(`the server exited (${code})`)));
  });
  if (!shared) throw new Error('the shared server did not arrive');
  return shared;
}

/** Connects inside `ns` to 127.0.0.1:`port`: what the server answered, or the error code. */
async function connectIn(ns: string, port: number): Promise<string> {
  const script = `
    const c = require('node:net').connect(${port}, '127.0.0.1');
    let got = '';
    c.on('data', (d) => (got += d));
    c.on('end', () => console.log('answer ' + got));
    c.on('error', (e) => console.log(e.code));`;
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await once(child, 'close');
  return out.trim();
}

test('sk_lookup in a namespace refuses connections to one port and steers another port to a socket from a SockMap, until detached', async (t) => {
  const ns = netns(t);
  const [target, dropped, steered] = [20001, 20002, 20003];
  const shared = await tcpServersIn(t, ns.name, [target, dropped], target);
  t.is(await connectIn(ns.name, dropped), `answer ${dropped}`);
  t.is(await connectIn(ns.name, steered), 'ECONNREFUSED', 'nothing listens on the steered port');

  using obj = Ebpf.load(bundledObjectPath('sk_lookup'), { globals: { DROP_PORT: u16(dropped), STEER_PORT: u16(steered) } });
  const events = obj.ringBuf('EVENTS', TestEvent);
  obj.map('SOCKETS', SockMap).set(0, shared);
  shared.close(); // this process's copy; the map holds the socket, the server child serves it
  const link = obj.program('steer_or_drop', SkLookup).attach(ns.path);
  t.is(link.kind, 'sk_lookup');

  t.is(await connectIn(ns.name, dropped), 'ECONNREFUSED', 'the lookup was dropped');
  t.is(await connectIn(ns.name, steered), `answer ${target}`, 'the server on the target port answered');
  const seen = await collect(events, 100);
  t.true(seen.some((e) => e.tag === 1 && e.value === BigInt(dropped)));
  t.true(seen.some((e) => e.tag === 2 && e.value === BigInt(steered)));

  link.detach();
  t.true(await eventually(() => noLinksOf(obj, 'steer_or_drop')), 'the kernel link is gone');
  t.is(await connectIn(ns.name, dropped), `answer ${dropped}`);
  t.is(await connectIn(ns.name, steered), 'ECONNREFUSED');
});

// ---------------------------------------------------------------------------------------------
// flow_dissector

test('flow_dissector in a namespace runs on the packets RPS hashes there, and no more after detach', async (t) => {
  const pair = vethPair(t);
  // RPS on the receiving interface hashes every packet to pick a CPU: that makes the kernel
  // dissect it, in the namespace of that interface.
  execFileSync('ip', ['netns', 'exec', pair.nsB, 'sh', '-c', `echo 3 > /sys/class/net/${pair.ifB}/queues/rx-0/rps_cpus`]);
  using obj = Ebpf.load(bundledObjectPath('flow_dissector'));
  const count = obj.map('COUNT', PerCpuArray, codec.u64);
  const dissected = () => count.get(0)!.reduce((a, b) => a + b, 0n);
  const send = (n: number) =>
    execFileSync('ip', ['netns', 'exec', pair.nsA, process.execPath, '-e', `
      const s = require('node:dgram').createSocket('udp4');
      let left = ${n};
      for (let i = 0; i < ${n}; i++) s.send('x', 9, ${JSON.stringify(pair.addrB)}, () => { if (--left === 0) s.close(); });`]);

  const link = obj.program('count_flows', FlowDissector).attach(pair.netnsB);
  t.is(link.kind, 'flow_dissector');
  send(20);
  t.true(await eventually(() => dissected() >= 20n), `at least the 20 datagrams were dissected (got ${dissected()})`);
  link.detach();
  const atDetach = dissected();
  send(20);
  await new Promise((r) => setTimeout(r, 100));
  t.is(dissected(), atDetach, 'nothing counts after detach');
});

test('flow_dissector answers BPF_DROP or BPF_FLOW_DISSECTOR_CONTINUE as its global says (test run)', (t) => {
  const frame = udpFrame({
    srcMac: '02:00:00:00:00:01', dstMac: '02:00:00:00:00:02', srcIp: '10.0.0.1', dstIp: '10.0.0.2',
    srcPort: 1000, dstPort: 2000, payload: Buffer.from('hello'),
  });
  const BPF_DROP = 2;
  const BPF_FLOW_DISSECTOR_CONTINUE = 129;
  for (const [drop, expected] of [[0, BPF_FLOW_DISSECTOR_CONTINUE], [1, BPF_DROP]] as const) {
    using obj = Ebpf.load(bundledObjectPath('flow_dissector'), { globals: { DROP: { codec: codec.u8, value: drop } } });
    const program = obj.program('count_flows', FlowDissector);
    t.is(program.testRun({ data: frame }).returnValue, expected);
    t.is(obj.map('COUNT', PerCpuArray, codec.u64).get(0)!.reduce((a, b) => a + b, 0n), 1n, 'the run was counted');
  }
});

// ---------------------------------------------------------------------------------------------
// iterators

/** Why task iterators cannot run here (the kernel's answer to loading one), or undefined. */
function iterUnsupportedReason(): string | undefined {
  try {
    using obj = Ebpf.load(bundledObjectPath('iter_task'));
    obj.program('dump_task_tgids', Iter).attach('task');
    return undefined;
  } catch (err) {
    const e = err as EbpfError;
    return `loading a task iterator (BPF_PROG_TYPE_TRACING) fails: ${e.code} ${e.errnoName ?? ''} ${e.message}`;
  }
}
const iterReason = iterUnsupportedReason();
if (iterReason) console.log(`skip iterator tests: ${iterReason}`);

(iterReason ? test.skip : test)('a task iterator lists this process and a child, each read a new iteration, none after detach', async (t) => {
  using obj = Ebpf.load(bundledObjectPath('iter_task'), {
    globals: { TASK_TGID_OFFSET: u32(structMemberOffset('task_struct', 'tgid')) },
  });
  const link = obj.program('dump_task_tgids', Iter).attach('task');
  t.is(link.kind, 'iter');
  const tgids = () => {
    const bytes = link.read();
    t.is(bytes.length % 4, 0);
    return new Set(Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readInt32LE(i * 4)));
  };
  t.true(tgids().has(process.pid), 'this process is listed');

  const child = spawn('sleep', ['10']);
  await once(child, 'spawn');
  t.true(tgids().has(child.pid!), 'a child started after attach is listed by the next read');
  child.kill('SIGKILL');
  await once(child, 'exit');
  t.true(await eventually(() => !tgids().has(child.pid!)), 'and no longer once it is gone');
  t.true([...tgids()].every((pid) => pid >= 0), 'every task gave its tgid');

  link.detach();
  const err = t.throws(() => link.read());
  t.is((err as EbpfError).code, 'CLOSED');
  // aya-node keeps a second fd of the link to start iterations from; detach closes it too.
  t.true(await eventually(() => noLinksOf(obj, 'dump_task_tgids')), 'the kernel link is gone');
});

(iterReason ? test.skip : test)('an iterator target the kernel does not have is a NotFoundError naming it', (t) => {
  using obj = Ebpf.load(bundledObjectPath('iter_task'));
  const err = t.throws(() => obj.program('dump_task_tgids', Iter).attach('no_such_thing'));
  t.true(err instanceof NotFoundError, String(err));
  t.regex(err!.message, /bpf_iter_no_such_thing/);
});

// ---------------------------------------------------------------------------------------------
// wrong input

test('a missing cgroup or network namespace is a NotFoundError naming it, and nothing is attached', (t) => {
  const cgroup = '/sys/fs/cgroup/aya-node-no-such-cgroup';
  const cases: Array<[object: string, attach: (obj: Ebpf) => unknown, program: string, missing: string]> = [
    ['cgroup_sysctl', (o) => o.program('deny_sysctl', CgroupSysctl).attach(cgroup), 'deny_sysctl', cgroup],
    ['cgroup_device', (o) => o.program('deny_char_device', CgroupDevice).attach(cgroup), 'deny_char_device', cgroup],
    ['cgroup_sock', (o) => o.program('deny_udp4_sockets', CgroupSock).attach(cgroup), 'deny_udp4_sockets', cgroup],
    ['cgroup_sockopt', (o) => o.program('deny_so_broadcast', CgroupSockopt).attach(cgroup), 'deny_so_broadcast', cgroup],
    ['sk_lookup', (o) => o.program('steer_or_drop', SkLookup).attach('/run/netns/aya-node-no-such-ns'), 'steer_or_drop', '/run/netns/aya-node-no-such-ns'],
    ['flow_dissector', (o) => o.program('count_flows', FlowDissector).attach('/run/netns/aya-node-no-such-ns'), 'count_flows', '/run/netns/aya-node-no-such-ns'],
  ];
  for (const [object, attach, program, missing] of cases) {
    using obj = Ebpf.load(bundledObjectPath(object));
    const err = t.throws(() => attach(obj), undefined, object);
    t.true(err instanceof NotFoundError, `${object}: ${String(err)}`);
    t.true(err!.message.includes(missing), err!.message);
    t.true(noLinksOf(obj, program), `${object}: nothing attached`);
  }
});

test('a program attached through the wrong class is a WRONG_TYPE error naming its kind', (t) => {
  using obj = Ebpf.load(bundledObjectPath('flow_dissector'));
  const err = t.throws(() => obj.program('count_flows', SkLookup));
  t.is((err as EbpfError).code, 'WRONG_TYPE');
  t.regex(err!.message, /flow_dissector/);
});

test('a directory outside cgroup v2 is an INVALID_ARGUMENT error saying so, and nothing is attached', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'aya-node-not-a-cgroup-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  using obj = Ebpf.load(bundledObjectPath('cgroup_sysctl'));
  const err = t.throws(() => obj.program('deny_sysctl', CgroupSysctl).attach(dir));
  t.is((err as EbpfError).code, 'INVALID_ARGUMENT');
  t.true(err!.message.includes(dir) && /cgroup v2/.test(err!.message), err!.message);
  t.true(noLinksOf(obj, 'deny_sysctl'));
});

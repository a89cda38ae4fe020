import test from 'ava';
import { readFileSync } from 'node:fs';
import { codec, Ebpf, EbpfError, enableStats, loadedMaps, loadedPrograms, VerifierError } from '../src';
import { basePacket, objectPath, udpFrame, XDP_DROP, XDP_PASS, XDP_TX } from './loader-packets';

test('XDP test run: an echo-port packet is rewritten and sent back, others pass', (t) => {
  using obj = Ebpf.load(objectPath('loader_test'));
  const xdp = obj.program('xdp_verdict');

  const echo = udpFrame({ ...basePacket, dstPort: 7 });
  const tx = xdp.testRun({ data: echo });
  t.is(tx.returnValue, XDP_TX);
  const expected = udpFrame({
    ...basePacket,
    srcMac: basePacket.dstMac,
    dstMac: basePacket.srcMac,
    srcIp: basePacket.dstIp,
    dstIp: basePacket.srcIp,
    srcPort: 7,
    dstPort: basePacket.srcPort,
  });
  t.deepEqual(tx.data, expected, 'MACs, IPs and ports swapped; checksums still valid');
  t.true(tx.duration >= 0);

  const other = udpFrame(basePacket);
  const pass = xdp.testRun({ data: other });
  t.is(pass.returnValue, XDP_PASS);
  t.deepEqual(pass.data, other, 'a passed packet is unchanged');

  const arp = Buffer.concat([other.subarray(0, 12), Buffer.from([0x08, 0x06]), Buffer.alloc(28)]);
  t.is(xdp.testRun({ data: arp }).returnValue, XDP_PASS, 'non-IPv4 passes');
});

test('a global set from TypeScript changes the verdict (blocked UDP port)', (t) => {
  const packet = udpFrame({ ...basePacket, dstPort: 5353 });
  {
    using plain = Ebpf.load(objectPath('loader_test'));
    t.is(plain.program('xdp_verdict').testRun({ data: packet }).returnValue, XDP_PASS, 'default: nothing blocked');
  }
  using blocking = Ebpf.load(readFileSync(objectPath('loader_test')), {
    globals: { BLOCKED_PORT: { codec: codec.u16, value: 5353 } },
  });
  const xdp = blocking.program('xdp_verdict');
  t.is(xdp.testRun({ data: packet }).returnValue, XDP_DROP, 'the blocked port is dropped');
  t.is(xdp.testRun({ data: udpFrame({ ...basePacket, dstPort: 5354 }) }).returnValue, XDP_PASS, 'other ports pass');
});

test('a global of the wrong size is a typed error', (t) => {
  const err = t.throws(() =>
    Ebpf.load(objectPath('loader_test'), { globals: { BLOCKED_PORT: { codec: codec.u64, value: 1n } } }),
  );
  t.true(err instanceof EbpfError, String(err));
});

test('maxEntries overrides a map size at load (the kernel reports the new size)', (t) => {
  using obj = Ebpf.load(objectPath('loader_test'), { maxEntries: { SCRATCH: 1234 } });
  const scratch = obj.maps.find((m) => m.name === 'SCRATCH');
  t.is(scratch?.maxEntries, 1234);
  const kernel = loadedMapsNamed('SCRATCH').map((m) => m.maxEntries);
  t.true(kernel.includes(1234), `kernel maps named SCRATCH: ${kernel.join(', ')}`);
});

function loadedMapsNamed(name: string) {
  return loadedMaps().filter((m) => m.name === name);
}

test('repeat runs the program many times: a counting socket filter sees every run', (t) => {
  using obj = Ebpf.load(objectPath('loader_test'));
  const counter = obj.program('count_packets');
  const packet = udpFrame(basePacket);
  t.is(counter.testRun({ data: packet }).returnValue, 1);
  t.is(counter.testRun({ data: packet, repeat: 1000 }).returnValue, 1001, 'the last of 1000 runs returns 1001');
});

test('ctx in and out: a socket filter test run returns the __sk_buff context', (t) => {
  using obj = Ebpf.load(objectPath('loader_test'));
  const ctx = Buffer.alloc(192); // struct __sk_buff
  ctx.writeUInt32LE(0x1234, 8); // mark
  const result = obj.program('count_packets').testRun({ data: udpFrame(basePacket), ctx });
  t.truthy(result.ctx);
  t.is(result.ctx!.readUInt32LE(8), 0x1234, 'the mark comes back');
});

test('a test run of a type the kernel cannot test-run is a typed error', (t) => {
  using obj = Ebpf.load(objectPath('loader_test'));
  const err = t.throws(() => obj.program('tp_count').testRun({ data: Buffer.alloc(64) }));
  t.true(err instanceof EbpfError);
  t.truthy((err as EbpfError).errno, String(err));
});

test('the verifier rejection carries the complete log, the program name and errno', (t) => {
  using obj = Ebpf.load(objectPath('loader_bad'));
  for (const level of [undefined, 2] as const) {
    using o = level ? Ebpf.load(objectPath('loader_bad'), { verifierLogLevel: level }) : obj;
    const err = t.throws(() => o.program('bad_read').load());
    t.true(err instanceof VerifierError, String(err));
    const v = err as VerifierError;
    t.is(v.code, 'VERIFIER');
    t.is(v.programName, 'bad_read');
    t.is(v.errnoName, 'EACCES');
    t.regex(v.verifierLog, /invalid access to packet/, 'the verifier says why');
    t.regex(v.verifierLog, /^0: /m, 'the log starts at the first instruction');
    t.regex(v.verifierLog, /processed \d+ insns/, 'the log reaches the verifier summary');
    t.regex(v.message, /bad_read/);
    t.regex(v.message, /invalid access to packet/, 'the cause shows in the message');
    if (level === undefined) continue;
    // The verbose log has the register state at every instruction.
    t.true(v.verifierLog.split('\n').length > 10, 'a verbose log');
  }
});

test('the verifier error is also raised by testRun (which loads first)', (t) => {
  using obj = Ebpf.load(objectPath('loader_bad'));
  const err = t.throws(() => obj.program('bad_read').testRun({ data: Buffer.alloc(64) }));
  t.true(err instanceof VerifierError);
  t.is((err as VerifierError).programName, 'bad_read');
});

test.serial('introspection lists this program; its run count grows while stats are on', (t) => {
  using obj = Ebpf.load(objectPath('loader_test'));
  const xdp = obj.program('xdp_verdict');
  xdp.load();
  const id = xdp.id!;
  const listed = loadedPrograms().find((p) => p.id === id);
  t.truthy(listed, 'the program is listed');
  t.is(listed!.name, 'xdp_verdict');
  t.is(listed!.type, 'xdp');
  t.is(listed!.tag, xdp.tag!);
  t.true(listed!.memlock! > 0);
  const hits = obj.maps.find((m) => m.name === 'HITS');
  t.truthy(hits);

  {
    using stats = enableStats();
    const before = xdp.info()!.runCount;
    xdp.testRun({ data: udpFrame(basePacket), repeat: 50 });
    const after = xdp.info()!;
    t.true(after.runCount >= before + 50, `run count ${before} -> ${after.runCount}`);
    t.true(after.runTimeNs > 0);
    t.false(stats.closed);
  }
  const off = xdp.info()!.runCount;
  xdp.testRun({ data: udpFrame(basePacket), repeat: 50 });
  t.is(xdp.info()!.runCount, off, 'no counting once the stats scope is closed');
});

import test from 'ava';
import { createServer, type Server } from 'node:net';
import {
  ArrayMap,
  BpfMap,
  ArrayOfMaps,
  BloomFilter,
  codec,
  CpuMap,
  DevMap,
  DevMapHash,
  EbpfError,
  HashMap,
  HashOfMaps,
  LpmTrie,
  ProgramArray,
  Queue,
  SockHash,
  SockMap,
  Stack,
  StackTraceMap,
  XskMap,
  LruPerCpuHashMap,
  possibleCpus,
} from '../src';
import { loadMapsTest, testRun } from './maps-helpers';

const { u32, u64, bytes } = codec;
const ip = (s: string) => Buffer.from(s.split('.').map(Number));

test('LPM trie: user-space lookups and the eBPF program find the longest matching prefix', (t) => {
  using obj = loadMapsTest();
  const routes = obj.map('ROUTES', LpmTrie, bytes(4), u32);
  routes.set({ prefixLen: 8, data: ip('10.0.0.0') }, 1);
  routes.set({ prefixLen: 16, data: ip('10.1.0.0') }, 2);
  routes.set({ prefixLen: 24, data: ip('10.1.2.0') }, 3);
  t.is(routes.get({ prefixLen: 32, data: ip('10.1.2.3') }), 3);
  t.is(routes.get({ prefixLen: 32, data: ip('10.1.9.9') }), 2);
  t.is(routes.get({ prefixLen: 32, data: ip('10.200.0.1') }), 1);
  t.is(routes.get({ prefixLen: 32, data: ip('11.0.0.1') }), undefined);
  const lookup = obj.program('lpm_lookup');
  const result = obj.map('RESULT', ArrayMap, u64);
  const kernelLookup = (addr: string) => {
    testRun(lookup, [BigInt(ip(addr).readUInt32LE(0))]);
    return result.get(1);
  };
  t.is(kernelLookup('10.1.2.3'), 3n);
  t.is(kernelLookup('10.1.7.7'), 2n);
  t.is(kernelLookup('10.9.9.9'), 1n);
  t.is(kernelLookup('192.168.0.1'), 0n);
  t.true(routes.delete({ prefixLen: 16, data: ip('10.1.0.0') }));
  t.is(kernelLookup('10.1.7.7'), 1n, 'with the /16 gone, the /8 matches');
  t.is(routes.size, 2, 'iteration falls back to per-element calls (no batch ops for LPM tries)');
  t.is((t.throws(() => routes.set({ prefixLen: 33, data: ip('1.2.3.4') }, 1)) as EbpfError).code, 'INVALID_ARGUMENT');
});

test('queue and stack: values pushed by eBPF pop in FIFO and LIFO order; push/peek from user space', (t) => {
  using obj = loadMapsTest();
  const push = obj.program('push_values');
  for (const v of [1n, 2n, 3n]) testRun(push, [v]);
  const queue = obj.map('QUEUE', Queue, u32);
  const stack = obj.map('STACK', Stack, u32);
  t.is(queue.peek(), 1);
  t.deepEqual([...queue.drain()], [1, 2, 3]);
  t.is(queue.pop(), undefined);
  t.deepEqual([...stack.drain()], [3, 2, 1]);
  // Full: E2BIG, unless overwriting.
  using q = Queue.create({ maxEntries: 2 }, u32);
  q.push(1);
  q.push(2);
  t.is((t.throws(() => q.push(3)) as EbpfError).errnoName, 'E2BIG');
  q.push(3, { overwrite: true });
  t.deepEqual([...q.drain()], [2, 3]);
});

test('bloom filter: values added by eBPF and by user space are found, others are not', (t) => {
  using obj = loadMapsTest();
  testRun(obj.program('push_values'), [4242n]);
  const bloom = obj.map('BLOOM', BloomFilter, u32);
  t.true(bloom.has(4242));
  t.false(bloom.has(4243));
  bloom.add(7);
  t.true(bloom.has(7));
  using own = BloomFilter.create({ maxEntries: 100, hashFunctions: 3 }, u64);
  own.add(1n << 60n);
  t.true(own.has(1n << 60n));
  t.false(own.has(5n));
});

test('program array: the entry at the index decides which program a tail call jumps to', (t) => {
  using obj = loadMapsTest();
  const jumps = obj.map('JUMP_TABLE', ProgramArray);
  const result = obj.map('RESULT', ArrayMap, u64);
  const entry = obj.program('tail_entry');
  testRun(entry);
  t.is(result.get(0), 99n, 'empty slot: the tail call falls through');
  jumps.set(0, obj.program('tail_a'));
  testRun(entry);
  t.is(result.get(0), 1n);
  t.is(jumps.get(0), obj.program('tail_a').id);
  jumps.set(0, obj.program('tail_b'));
  testRun(entry);
  t.is(result.get(0), 2n);
  t.true(jumps.delete(0));
  testRun(entry);
  t.is(result.get(0), 99n);
  t.is((t.throws(() => jumps.set(4, obj.program('tail_a'))) as EbpfError).code, 'INVALID_ARGUMENT');
});

test('stack trace: the id a program stored resolves to kernel addresses and symbols', (t) => {
  using obj = loadMapsTest();
  testRun(obj.program('record_stack'));
  const id = obj.map('STACK_ID', ArrayMap, codec.i64).get(0)!;
  t.true(id >= 0n, `bpf_get_stackid returned ${id}`);
  const stacks = obj.map('STACKS', StackTraceMap);
  const addresses = stacks.get(Number(id))!;
  t.true(addresses.length > 0);
  t.true(addresses.every((a) => a >= 0xffff000000000000n), 'kernel addresses');
  const frames = stacks.resolve(Number(id))!;
  const symbols = frames.map((f) => f.symbol ?? '?');
  t.log(symbols.join(' <- '));
  t.true(symbols.some((s) => /bpf_prog_test_run|__sys_bpf|bpf_test_run/.test(s)), 'the test-run path is on the stack');
  t.deepEqual([...stacks.ids()], [Number(id)]);
  t.true(stacks.delete(Number(id)));
  t.is(stacks.get(Number(id)), undefined);
});

test('array and hash of maps: inner maps are set by map and read back as their ids', (t) => {
  using template = ArrayMap.create({ maxEntries: 4 }, u32);
  using inner = ArrayMap.create({ maxEntries: 4 }, u32);
  using outer = ArrayOfMaps.create({ maxEntries: 2 }, template);
  outer.set(1, inner);
  t.is(outer.get(1), inner.id);
  t.is(outer.get(0), undefined);
  // Through the outer map's entry, the same kernel map.
  using reopened = BpfMap.fromId(outer.get(1)!, ArrayMap, u32);
  inner.set(2, 77);
  t.is(reopened.get(2), 77);
  using hashOuter = HashOfMaps.create({ maxEntries: 4 }, u64, template);
  hashOuter.set(1n << 40n, inner);
  t.is(hashOuter.get(1n << 40n), inner.id);
  using wrongShape = HashMap.create({ maxEntries: 4 }, u32, u32);
  t.is((t.throws(() => outer.set(0, wrongShape)) as EbpfError).errnoName, 'EINVAL');
  t.true(outer.delete(1));
});

async function listening(): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

test('sock map and sock hash hold sockets and read back their cookies', async (t) => {
  const server = await listening();
  t.teardown(() => server.close());
  using map = SockMap.create({ maxEntries: 4 });
  map.set(0, server as never);
  const cookie = map.get(0)!;
  t.true(typeof cookie === 'bigint' && cookie > 0n);
  using hash = SockHash.create({ maxEntries: 4 }, u32);
  hash.set(80, server as never);
  t.is(hash.get(80), cookie, 'the same socket has the same cookie');
  t.true(map.delete(0));
  t.is(map.get(0), undefined);
  t.is((t.throws(() => map.set(1, -1)) as EbpfError).code, 'INVALID_ARGUMENT');
});

test('dev map, dev map hash, cpu map and xsk map: basic operations', async (t) => {
  const server = await listening();
  t.teardown(() => server.close());
  using dev = DevMap.create({ maxEntries: 4 });
  dev.set(0, 1); // lo
  t.is(dev.get(0), 1);
  t.is((t.throws(() => dev.set(1, 999999)) as EbpfError).errnoName, 'EINVAL', 'no such interface');
  t.is(dev.get(1), undefined);
  using devHash = DevMapHash.create({ maxEntries: 4 }, u32);
  devHash.set(1234, 1);
  t.is(devHash.get(1234), 1);
  t.true(devHash.delete(1234));
  using cpus = CpuMap.create({ maxEntries: 1 });
  cpus.set(0, { qsize: 192 });
  t.deepEqual(cpus.get(0), { qsize: 192 });
  t.true(cpus.delete(0));
  using xsk = XskMap.create({ maxEntries: 4 });
  // The kernel reports success for deleting an empty XSK slot.
  t.notThrows(() => xsk.delete(0));
  // A TCP socket is not an AF_XDP socket: the kernel refuses it.
  const err = t.throws(() => xsk.set(0, server as never)) as EbpfError;
  t.is(err.syscall, 'BPF_MAP_UPDATE_ELEM');
  t.is(err.errnoName, 'EOPNOTSUPP');
});

test('LPM trie: clear() and drain() work without batch commands', (t) => {
  using trie = LpmTrie.create({ maxEntries: 8 }, bytes(4), u32);
  trie.set({ prefixLen: 8, data: ip('10.0.0.0') }, 1).set({ prefixLen: 16, data: ip('10.1.0.0') }, 2);
  t.is(trie.clear(), 2);
  t.is(trie.size, 0);
  trie.set({ prefixLen: 24, data: ip('10.1.2.0') }, 3);
  t.deepEqual(trie.drain(), [[{ prefixLen: 24, data: ip('10.1.2.0') }, 3]]);
  t.is(trie.get({ prefixLen: 32, data: ip('10.1.2.3') }), undefined);
});

test('LRU per-CPU hash: per-CPU values set from user space read back per CPU', (t) => {
  const cpus = possibleCpus();
  using map = LruPerCpuHashMap.create({ maxEntries: 8 }, u32, u32);
  const value = Array.from({ length: cpus }, (_, cpu) => cpu + 100);
  map.set(1, value);
  t.deepEqual(map.get(1), value);
  t.deepEqual([...map.entries()], [[1, value]]);
  t.is((t.throws(() => map.set(2, [1])) as EbpfError).code, 'INVALID_ARGUMENT', 'one value per possible CPU is required');
  t.is(map.size, 1);
});

import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Ebpf, EbpfError, kernelFeatures, isHelperSupported, isMapTypeSupported, isProgramTypeSupported, TracePoint } from '../src';
import { openBpfFds } from './helpers';
import { objectPath } from './loader-packets';

const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find(existsSync);
if (!setpriv) console.log('skip: setpriv (util-linux) is not installed; the unprivileged test needs it');

(setpriv ? test : test.skip)('without capabilities, loading is a PermissionError that names the capability', (t) => {
  const out = execFileSync(
    setpriv!,
    ['--inh-caps=-all', '--ambient-caps=-all', '--bounding-set=-all', process.execPath, '--import', 'tsx', join(__dirname, 'fixtures', 'load-unprivileged.ts')],
    { encoding: 'utf8' },
  );
  const result = JSON.parse(out);
  t.not(result.loaded, true, 'loading must fail without capabilities');
  t.true(result.isEbpfError);
  t.is(result.name, 'PermissionError');
  t.is(result.code, 'PERMISSION');
  t.is(result.errnoName, 'EPERM');
  t.regex(result.message, /CAP_BPF/);
});

test('feature probes: what this kernel supports', (t) => {
  const f = kernelFeatures();
  t.log(JSON.stringify(f));
  t.is(f.btf, existsSync('/sys/kernel/btf/vmlinux'));
  t.true(f.testRun, 'the XDP test run works here (the testRun tests pass)');
  t.true(f.ringBuf);
  t.true(f.bpffs);
  t.is(typeof f.tcx, 'boolean');
  if (!f.kprobe) t.regex(f.kprobeReason!, /CONFIG_KPROBES/);
  t.true(isProgramTypeSupported('xdp'));
  t.true(isProgramTypeSupported('socket_filter'));
  t.true(isMapTypeSupported('hash'));
  t.true(isMapTypeSupported('ringbuf'));
  t.true(isHelperSupported('xdp', 1), 'map_lookup_elem from XDP');
  t.false(isHelperSupported('socket_filter', 50), 'skb_change_tail (write helper) is not for socket filters');
  t.false(isHelperSupported('xdp', 100000), 'no such helper');
  t.is((t.throws(() => isProgramTypeSupported('no_such_type')) as EbpfError).code, 'INVALID_ARGUMENT');
});

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

test.serial('leak check: 2,000 cycles of load, attach, read a map, detach, close', (t) => {
  t.timeout(10 * 60_000);
  const cycles = 2000;
  const path = objectPath('loader_test');
  const packet = Buffer.alloc(64);
  // Keeping one probe on the tracepoint all along spares each detach the kernel's wait for
  // the tracepoint to be unregistered (a synchronize_rcu), which would dominate the run time.
  using anchor = Ebpf.load(path);
  anchor.program('tp_count', TracePoint).attach('syscalls', 'sys_enter_getppid');
  const cycle = () => {
    const obj = Ebpf.load(path);
    const link = obj.program('tp_count', TracePoint).attach('syscalls', 'sys_enter_getppid');
    // Read the map: the counting program returns the value it left in HITS[0].
    if (obj.program('count_packets').testRun({ data: packet }).returnValue !== 1) throw new Error('map read failed');
    if (!obj.maps.some((m) => m.name === 'HITS')) throw new Error('map listing failed');
    link.detach();
    obj.close();
  };
  for (let i = 0; i < 50; i++) cycle(); // warm up: tokio threads, cached BTF, JIT
  collectGarbage();
  const fdsBefore = openFds();
  const rssBefore = process.memoryUsage().rss;
  const started = performance.now();
  for (let i = 0; i < cycles; i++) cycle();
  const seconds = (performance.now() - started) / 1000;
  collectGarbage();
  const fdsAfter = openFds();
  const rssAfter = process.memoryUsage().rss;
  const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
  t.log(`${cycles} cycles in ${seconds.toFixed(1)} s; open fds ${fdsBefore} -> ${fdsAfter}; RSS ${mb(rssBefore)} MB -> ${mb(rssAfter)} MB`);
  t.is(fdsAfter, fdsBefore, 'every fd is closed again');
  t.true(rssAfter - rssBefore < 32 * 1024 * 1024, 'memory stays flat (under 32 MB growth for 2,000 cycles)');
});

test('fuzz: random and mutated ELF buffers load or throw a typed error, never crash', (t) => {
  t.timeout(5 * 60_000);
  const seeds = ['loader_test', 'loader_pinned', 'loader_bad', 'tools/execsnoop'].map((n) => readFileSync(objectPath(n)));
  let state = 0x2545f491;
  const rand = (n: number) => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % n;
  };
  const counts = { loaded: 0, typed: 0 };
  const cases = 3000;
  for (let i = 0; i < cases; i++) {
    let input: Buffer;
    const seed = seeds[rand(seeds.length)];
    switch (rand(5)) {
      case 0: // random bytes, sometimes behind an ELF magic
        input = Buffer.from(Array.from({ length: rand(4096) }, () => rand(256)));
        if (rand(2) && input.length > 4) Buffer.from([0x7f, 0x45, 0x4c, 0x46]).copy(input);
        break;
      case 1: // truncated
        input = seed.subarray(0, rand(seed.length));
        break;
      case 2: // a few flipped bytes in the headers or section table
        input = Buffer.from(seed);
        for (let k = 0, n = 1 + rand(8); k < n; k++) input[rand(Math.min(input.length, 4096))] = rand(256);
        break;
      case 3: // flipped bytes anywhere
        input = Buffer.from(seed);
        for (let k = 0, n = 1 + rand(32); k < n; k++) input[rand(input.length)] = rand(256);
        break;
      default: // a copied block
        input = Buffer.from(seed);
        input.copy(input, rand(input.length), rand(input.length), rand(input.length));
    }
    try {
      const obj = Ebpf.load(input);
      counts.loaded++;
      // Loading the programs exercises the relocated code paths too.
      for (const p of obj.programs) {
        try {
          obj.program(p.name).load();
        } catch (err) {
          if (!(err instanceof EbpfError)) throw err;
        }
      }
      obj.close();
    } catch (err) {
      if (!(err instanceof EbpfError)) {
        t.fail(`case ${i}: untyped error ${String(err)}`);
        return;
      }
      counts.typed++;
    }
  }
  t.log(`${cases} inputs: ${counts.loaded} loaded, ${counts.typed} typed errors`);
  t.is(counts.loaded + counts.typed, cases);
});

test.serial('forgotten objects are released by their finalizers', async (t) => {
  const path = objectPath('loader_test');
  Ebpf.load(path).close(); // warm up
  collectGarbage();
  const start = openBpfFds();
  (() => {
    for (let i = 0; i < 20; i++) Ebpf.load(path).program('count_packets').load(); // never closed
  })();
  t.true(openBpfFds() > start, 'the forgotten objects hold fds until collected');
  for (let i = 0; i < 20 && openBpfFds() > start; i++) {
    collectGarbage();
    await new Promise((resolve) => setTimeout(resolve, 50)); // finalizers run after the GC pass
  }
  t.is(openBpfFds(), start);
});

test('a map larger than the machine is refused before the kernel tries (no OOM), naming the map', (t) => {
  // 687,865,857 per-CPU slots of 2,864 bytes: terabytes. The kernel would allocate until the OOM
  // killer struck (a mutated execsnoop object in the fuzz test did this).
  const err = t.throws(() => Ebpf.load(objectPath('tools/execsnoop'), { maxEntries: { SCRATCH: 687_865_857 } }), { instanceOf: EbpfError });
  t.is(err!.code, 'INVALID_ARGUMENT');
  t.regex(err!.message, /map `SCRATCH` would take \d+ bytes .* more than this machine has/);
  // Within the machine: loads.
  Ebpf.load(objectPath('tools/execsnoop'), { maxEntries: { SCRATCH: 4 } }).close();
  t.pass();
});

// Ring buffer consumers side by side (issue 13, tables 2 and 3): a C consumer over libbpf
// (c/ring_consumer.c: ring_buffer__new + ring_buffer__consume/__poll), a Go consumer over
// cilium/ebpf's ringbuf.Reader (go/, its go.mod and go.sum pinned), and aya-node's public API
// (`recordBatches()` raw, `batches()` decoded, `for await` decoded) read the same kind of ring:
// the 16 MiB EVENTS ring of ebpf/programs/src/bin/stream_producers.rs, filled by its socket
// filter producers run with BPF_PROG_TEST_RUN. Each measurement loads the object afresh (aya
// keeps its own copy of the consumer position, so a ring another process read is not reused),
// pins the ring and the producer in a bpffs dir of this run, and the C and Go consumers open the
// pin with bpf_obj_get / ebpf.LoadPinnedMap; aya-node reads the object it loaded.
//
// What each consumer reads per event: C, Go and the decoded aya-node consumers two u64 fields,
// the sequence number (checked to run in order) and the last word of the event; the raw one two
// u32s (the low half of the sequence number, checked too, and the last u32).
//
// 2. Consumer-bound: the ring is filled full first (events of 16/64/256 B), then drained; events/s
//    as each consumer times its own loop, and events per CPU second of the consumer's process
//    (steadier on a shared VM); medians of 3 interleaved rounds; ratios against C of the same
//    run. Then again with this whole process (and the consumers it starts) on one CPU.
// 3. Loss under a live producer: c/ring_producer.c test-runs the producer at full speed on CPU 0
//    (another process) while the consumer reads on CPU 1, 2 M events; received, dropped (the
//    programs' per-CPU DROPS counter) and lost without a count (produced − received − dropped,
//    which must be 0) per consumer and round.
//
// Needs root, gcc, libbpf-dev (scripts/setup.sh installs them) and Go >= 1.25 on PATH for the Go
// consumer (skipped with a note when absent; its module comes from the Go module proxy).
// 3b. The same with one CPU for both (producer and consumer on CPU 0).
// 3c. The same as 3 with the producer paced at fixed rates (PACED_RATES), the same for every
//    consumer: at full speed, the producer's pace depends on how often its consumer is woken.
// Run: node --import=tsx bench/consumers.bench.ts   (ROUNDS=3, LIVE_EVENTS=2000000 by default;
// PARTS=drain,limits,one-cpu,live,live-one-cpu,live-paced to pick tables, PACED_RATES=1000000,3000000)

import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundledObjectPath, codec, Ebpf, type RecordBatch, type RingBuf } from '../src';
import { decoderFor } from '../src/codec';
import { schedstat, schedstatSince, type Schedstat } from './schedstat';

const { struct, u64, padding } = codec;
const RING_BYTES = 16 * 1024 * 1024;
const SIZES = [16, 64, 256] as const;
type Size = (typeof SIZES)[number];
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const LIVE_EVENTS = Number(process.env.LIVE_EVENTS ?? 2_000_000);
/** Events/s of the paced producer in table 3c. */
const PACED_RATES = (process.env.PACED_RATES ?? '1000000,3000000').split(',').map(Number);
/** A socket filter's test run needs a packet of at least an Ethernet header. */
const PACKET = Buffer.alloc(64);
const PIN_DIR = `/sys/fs/bpf/aya-node-bench-consumers-${process.pid}`;

/** Events a full ring holds: each record has an 8-byte header (sizes are multiples of 8). */
const capacity = (size: Size) => Math.floor(RING_BYTES / (size + 8));

/** The sequence number and the event's last u64, the padding between skipped. */
const seqAndLast = (size: Size) =>
  size === 16 ? struct({ seq: u64, last: u64 }) : struct({ seq: u64, skip: padding(size - 16), last: u64 });
type SeqAndLast = { seq: bigint; last: bigint };

interface Binaries {
  c: string;
  producer: string;
  go?: string;
  goMissing?: string;
}

function build(): Binaries {
  const dir = mkdtempSync(join(tmpdir(), 'aya-node-bench-consumers-'));
  const c = join(dir, 'ring_consumer');
  const producer = join(dir, 'ring_producer');
  execFileSync('gcc', ['-O2', '-o', c, join(__dirname, 'c', 'ring_consumer.c'), '-lbpf']);
  execFileSync('gcc', ['-O2', '-o', producer, join(__dirname, 'c', 'ring_producer.c'), '-lbpf']);
  const go = join(dir, 'go_consumer');
  const built = spawnSync('go', ['build', '-mod=readonly', '-o', go, '.'], { cwd: join(__dirname, 'go'), encoding: 'utf8' });
  if (built.error || built.status !== 0) {
    return { c, producer, goMissing: (built.error?.message ?? built.stderr).trim().split('\n')[0] };
  }
  return { c, producer, go };
}

/** Loads a fresh object and fills its ring with `n` events of `size` bytes (none may drop). */
function loadFilled(size: Size, n: number): Ebpf {
  const object = Ebpf.load(bundledObjectPath('stream_producers'));
  if (n > 0) {
    object.program(`produce${size}`).testRun({ data: PACKET, repeat: n });
    const drops = object.nativeObject.perCpuCounterSum('DROPS');
    if (drops !== 0n) throw new Error(`filling the ring dropped ${drops} events`);
  }
  return object;
}

interface Read {
  events: number;
  ns: number;
  /** CPU time of the consumer's process (all threads) over its reading loop. */
  cpuNs?: number;
  outOfOrder: number;
  /** Live runs: the consumer process's time on a CPU and runnable but waiting for one (run queue). */
  sched?: Schedstat;
}

const cpuNow = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) * 1000;
};

function exited(child: ChildProcess): Promise<{ code: number | null; out: string; err: string }> {
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

function ready(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let text = '';
    child.stderr!.on('data', (d: Buffer) => {
      text += d.toString();
      if (text.includes('ready')) resolve();
    });
    child.on('close', (code) => reject(new Error(`consumer exited with ${code} before it was ready: ${text}`)));
  });
}

function parse<T>(what: string, r: { code: number | null; out: string; err: string }): T {
  if (r.code !== 0) throw new Error(`${what} exited with ${r.code}: ${r.err}`);
  return JSON.parse(r.out.trim().split('\n').pop()!) as T;
}

/** A C or Go consumer process on the ring pinned at `pin`. */
function external(bin: string, args: string[], cpu?: number): ChildProcess {
  const [file, argv] = cpu === undefined ? [bin, args] : ['taskset', ['-c', String(cpu), bin, ...args]];
  return spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** `raw-forEach`: recordBatches() walked with forEach and readUInt32LE (this bench's walk before the loop walk). */
type AyaKind = 'raw' | 'raw-forEach' | 'batches' | 'for-await';

/** What an aya-node consumer has read so far (a live run looks at it while the loop runs). */
interface Progress {
  events: number;
  outOfOrder: number;
}

/** The ring an aya-node consumer reads: opened before the clock starts, as C and Go open theirs. */
function ayaOpen(kind: AyaKind, object: Ebpf, size: Size): RingBuf<Buffer> | RingBuf<SeqAndLast> {
  if (kind.startsWith('raw')) return object.ringBuf<Buffer>('EVENTS');
  return object.ringBuf<SeqAndLast>('EVENTS', seqAndLast(size));
}

/** One batch of the raw consumer: per record, the low half of the sequence number (checked) and the last u32. */
function walkRaw(batch: RecordBatch, state: { expected: number; last: number }, progress: Progress): void {
  const { view, count } = batch;
  let { expected, last } = state;
  for (let i = 0, at = 0; i < count; i++, at = batch.next(at)) {
    const start = batch.start(at);
    const seq = view.getUint32(start, true);
    if (seq !== expected) progress.outOfOrder++;
    expected = (seq + 1) >>> 0;
    last = view.getUint32(start + batch.length(at) - 4, true);
  }
  state.expected = expected;
  state.last = last;
  progress.events += count;
}

/**
 * Reads with an aya-node consumer of this process until `n` events were read or `signal` aborts:
 * per event the sequence number (checked) and the last word, u64s decoded or raw u32s.
 */
async function ayaRead(kind: AyaKind, opened: RingBuf<Buffer> | RingBuf<SeqAndLast>, n: number, signal: AbortSignal | undefined, progress: Progress): Promise<void> {
  // The defaults otherwise (minBatch 1: a batch is whatever one wake-up finds).
  const options = { signal };
  if (kind === 'raw') {
    // The walk docs/streams.md shows as the fastest: a plain loop, fields read through the view.
    const state = { expected: 0, last: 0 };
    for await (const batch of (opened as RingBuf<Buffer>).recordBatches(options)) {
      walkRaw(batch, state, progress);
      if (progress.events >= n) break;
    }
    if (state.last < 0) throw new Error('unreachable: keeps the last word read');
    return;
  }
  if (kind === 'raw-forEach') {
    let expected = 0;
    let last = 0;
    for await (const batch of (opened as RingBuf<Buffer>).recordBatches(options)) {
      batch.forEach((data, at, length) => {
        const seq = data.readUInt32LE(at);
        if (seq !== expected) progress.outOfOrder++;
        expected = (seq + 1) >>> 0;
        last = data.readUInt32LE(at + length - 4);
      });
      progress.events += batch.count;
      if (progress.events >= n) break;
    }
    if (last < 0) throw new Error('unreachable: keeps the last word read');
    return;
  }
  const ring = opened as RingBuf<SeqAndLast>;
  let expected = 0n;
  let last = 0n;
  if (kind === 'batches') {
    for await (const batch of ring.batches(options)) {
      for (const ev of batch) {
        if (ev.seq !== expected) progress.outOfOrder++;
        expected = ev.seq + 1n;
        last = ev.last;
      }
      progress.events += batch.length;
      if (progress.events >= n) break;
    }
  } else {
    // The default loop: `for await (const ev of ring)` is `ring.events()`, here with the signal.
    for await (const ev of ring.events({ signal })) {
      if (ev.seq !== expected) progress.outOfOrder++;
      expected = ev.seq + 1n;
      last = ev.last;
      if (++progress.events >= n) break;
    }
  }
  if (last < 0n) throw new Error('unreachable: keeps the last word read');
}

interface Consumer {
  name: string;
  /** Reads `n` waiting events of the filled `object` (its ring pinned at `pin`). */
  drain(object: Ebpf, pin: string, size: Size, n: number): Promise<Read>;
  /** Reads on `cpu` until `stop()`'s promise resolves (the producer ended), then empties the ring. */
  live(object: Ebpf, pin: string, size: Size, cpu: number): Promise<{ started: Promise<void>; stop: (expected: number) => Promise<Read> }>;
}

/** `drainMode`: `drain` (libbpf's loop) or `drain-copy` (the C consumer's copying loop). */
function externalConsumer(name: string, bin: string, drainMode = 'drain'): Consumer {
  return {
    name,
    async drain(_object, pin, size, n) {
      const child = external(bin, [drainMode, pin, String(size), String(n)]);
      return parse<Read>(name, await exited(child));
    },
    async live(_object, pin, size, cpu) {
      const child = external(bin, ['live', pin, String(size)], cpu);
      const done = exited(child);
      let from: Schedstat | undefined;
      return {
        started: ready(child).then(() => void (from = schedstat(child.pid!))),
        stop: async () => {
          const sched = schedstatSince(from!, schedstat(child.pid!));
          child.kill('SIGUSR1');
          return { ...parse<Read>(name, await done), sched };
        },
      };
    },
  };
}

/** Sets the CPUs of every thread of this process (children started later inherit them). */
function setAffinity(list: string) {
  execFileSync('taskset', ['-a', '-p', '-c', list, String(process.pid)], { stdio: 'ignore' });
}
const ALL_CPUS = `0-${cpus().length - 1}`;

function ayaConsumer(kind: AyaKind, name: string): Consumer {
  return {
    name,
    async drain(object, _pin, size, n) {
      const progress = { events: 0, outOfOrder: 0 };
      const ring = ayaOpen(kind, object, size);
      const cpu0 = cpuNow();
      const start = process.hrtime.bigint();
      await ayaRead(kind, ring, n, undefined, progress);
      const ns = Number(process.hrtime.bigint() - start);
      return { ...progress, ns, cpuNs: cpuNow() - cpu0 };
    },
    async live(object, _pin, size, cpu) {
      setAffinity(String(cpu));
      const abort = new AbortController();
      const progress = { events: 0, outOfOrder: 0 };
      const start = process.hrtime.bigint();
      const from = schedstat(process.pid);
      const loop = ayaRead(kind, ayaOpen(kind, object, size), Infinity, abort.signal, progress).catch((err) => {
        if (!abort.signal.aborted) throw err;
      });
      return {
        started: Promise.resolve(),
        stop: async (expected) => {
          // Everything not dropped is in the ring: wait for it, or until no progress for 2 s.
          let seen = -1;
          let still = Date.now();
          while (progress.events < expected && Date.now() - still < 2000) {
            if (progress.events !== seen) [seen, still] = [progress.events, Date.now()];
            await new Promise((resolve) => setTimeout(resolve, 1));
          }
          const ns = Number(process.hrtime.bigint() - start);
          const sched = schedstatSince(from, schedstat(process.pid));
          abort.abort();
          await loop;
          setAffinity(ALL_CPUS);
          return { ...progress, ns, sched };
        },
      };
    },
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const mps = (n: number) => (n / 1e6).toFixed(2);

/** Runs one consumer-bound measurement on a freshly filled ring: events/s by wall clock and per CPU second. */
async function drainOnce(consumer: Consumer, size: Size): Promise<{ rate: number; cpuRate: number }> {
  const n = capacity(size);
  using object = loadFilled(size, n);
  const pin = join(PIN_DIR, `events-${size}`);
  object.pinMap('EVENTS', pin);
  try {
    const r = await consumer.drain(object, pin, size, n);
    if (r.events !== n || r.outOfOrder !== 0) throw new Error(`${consumer.name} read ${r.events}/${n} events, ${r.outOfOrder} out of order`);
    return { rate: (r.events / r.ns) * 1e9, cpuRate: (r.events / r.cpuNs!) * 1e9 };
  } finally {
    unlinkSync(pin);
  }
}

/**
 * `rounds` interleaved drains of each consumer at `size`, after one untimed round: V8 compiles a
 * consumer's loop while it runs, and a ring drains in a few milliseconds, so a cold first round
 * measures the compiler (C and Go are compiled).
 */
async function drainRounds(consumers: Consumer[], size: Size, rounds: number): Promise<Map<string, Array<{ rate: number; cpuRate: number }>>> {
  const rates = new Map<string, Array<{ rate: number; cpuRate: number }>>(consumers.map((c) => [c.name, []]));
  for (const c of consumers) await drainOnce(c, size);
  for (let round = 0; round < rounds; round++) {
    for (const c of consumers) rates.get(c.name)!.push(await drainOnce(c, size));
  }
  return rates;
}

async function table2(consumers: Consumer[], title: string) {
  type Medians = Map<Size, Map<string, number>>;
  const wall: Medians = new Map();
  const cpu: Medians = new Map();
  for (const size of SIZES) {
    const rates = await drainRounds(consumers, size, ROUNDS);
    wall.set(size, new Map(consumers.map((k) => [k.name, median(rates.get(k.name)!.map((r) => r.rate))])));
    cpu.set(size, new Map(consumers.map((k) => [k.name, median(rates.get(k.name)!.map((r) => r.cpuRate))])));
  }
  const print = (medians: Medians, heading: string) => {
    console.log(`\n${heading}`);
    console.log(`| size | events/drain | ${consumers.map((c) => c.name).join(' | ')} |`);
    console.log(`| ---: | ---: | ${consumers.map(() => '---:').join(' | ')} |`);
    for (const size of SIZES) {
      const m = medians.get(size)!;
      const c = m.get('C libbpf')!;
      const cells = consumers.map((k) => {
        const r = m.get(k.name)!;
        return k.name === 'C libbpf' ? `${mps(r)} M/s` : `${mps(r)} M/s (${(r / c).toFixed(2)}×)`;
      });
      console.log(`| ${size} B | ${capacity(size).toLocaleString('en-US')} | ${cells.join(' | ')} |`);
    }
  };
  print(wall, `${title}: events per second (wall clock of the reading loop)`);
  print(cpu, `${title}: events per CPU second of the consumer process (less exposed to other load on the VM)`);
  // The issue's targets, checked against this run (by wall clock; by CPU time in brackets).
  const verdict = (ok: boolean) => (ok ? 'met' : 'not met');
  for (const size of SIZES) {
    const ratios = [wall, cpu].map((medians) => {
      const m = medians.get(size)!;
      const c = m.get('C libbpf')!;
      const decoded = m.get('aya-node batches() decoded')!;
      return {
        raw: m.get('aya-node recordBatches()')! / c,
        decoded: decoded / c,
        decodedOk: decoded >= Math.max(0.35 * c, m.get('Go cilium/ebpf') ?? 0),
        forAwait: m.get('aya-node for await decoded')!,
      };
    });
    const [w, u] = ratios;
    let line = `targets at ${size} B: recordBatches() ≥ 0.8× C ${verdict(w.raw >= 0.8)} (${w.raw.toFixed(2)}×; by CPU ${u.raw.toFixed(2)}×); batches() ≥ 0.35× C and ≥ Go ${verdict(w.decodedOk)} (${w.decoded.toFixed(2)}×; by CPU ${u.decoded.toFixed(2)}×)`;
    if (size === 64) line += `; for await ≥ 10 M/s ${verdict(w.forAwait >= 10e6)} (${mps(w.forAwait)} M/s; per CPU second ${mps(u.forAwait)} M)`;
    console.log(line);
  }
}

/**
 * What bounds the JavaScript consumers on this machine, measured in this run: C's own loop
 * against C copying each run of records out first (what one copy costs by itself), aya-node's
 * loop walk against `forEach`; then (a) the native
 * copy alone: `tryRead` draining a full ring into the 1 MiB read buffer with no JavaScript per
 * event (the most a zero-copy view of the ring could save); (b) this Node's `for await` over
 * an async iterator whose `next()` returns already-resolved promises and does nothing else (no
 * consumer yielding one promise per event can beat it); (c) decoding two u64 fields per event
 * into an object of BigInts, from a buffer in memory (what `batches()` pays per event).
 */
async function limits(bins: Binaries) {
  console.log('\nLimits measured in this run (events per CPU second of this process, medians of 3):');
  // What one copy costs by itself, in C; and what the loop walk bought over forEach, in Node.
  const pairs = [
    [externalConsumer('C libbpf', bins.c), externalConsumer('C copying', bins.c, 'drain-copy')],
    [ayaConsumer('raw', 'loop'), ayaConsumer('raw-forEach', 'forEach')],
  ];
  for (const size of SIZES) {
    const rates = await drainRounds(pairs.flat(), size, 3);
    const m = (name: string) => median(rates.get(name)!.map((r) => r.cpuRate));
    console.log(
      `- at ${size} B, C copying each run of records out of the ring first, then reading the copy (what aya-node does, in C): ` +
        `${mps(m('C copying'))} M/s, ${(m('C copying') / m('C libbpf')).toFixed(2)}× of libbpf's loop in place (${mps(m('C libbpf'))} M/s); ` +
        `recordBatches() walked with forEach and readUInt32LE: ${mps(m('forEach'))} M/s, with the loop walk: ${mps(m('loop'))} M/s (${(m('loop') / m('forEach')).toFixed(2)}×)`,
    );
  }
  const result = new Float64Array(4);
  for (const size of SIZES) {
    const rates: number[] = [];
    for (let round = 0; round < 3; round++) {
      const n = capacity(size);
      using object = loadFilled(size, n);
      const reader = object.nativeObject.takeRingBuf('EVENTS');
      const buffer = Buffer.alloc(1024 * 1024);
      const start = cpuNow();
      let got = 0;
      while (got < n) got += reader.tryRead(buffer, 4096, result);
      rates.push((n / (cpuNow() - start)) * 1e9);
      reader.close();
    }
    console.log(`- native copy alone at ${size} B (tryRead into the read buffer, no JavaScript per event): ${mps(median(rates))} M/s`);
  }
  const N = 2_000_000;
  const values = Array.from({ length: 1024 }, (_, i) => i);
  const floors: number[] = [];
  for (let round = 0; round < 3; round++) {
    let i = 0;
    const iterator: AsyncIterableIterator<number> = {
      next: () => Promise.resolve(i < N ? { done: false, value: values[i++ & 1023] } : { done: true, value: undefined }),
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    const start = cpuNow();
    let sum = 0;
    for await (const v of iterator) sum += v;
    floors.push((N / (cpuNow() - start)) * 1e9);
    if (sum < 0) throw new Error('unreachable');
  }
  console.log(`- \`for await\` over already-resolved promises, nothing else (the language's ceiling for one event per step): ${mps(median(floors))} M/s`);
  const buffer = Buffer.alloc(72 * 4096);
  const decode = decoderFor(seqAndLast(64), buffer); // what batches() uses per batch
  const decodes: number[] = [];
  for (let round = 0; round < 3; round++) {
    const start = cpuNow();
    let seen = 0n;
    for (let b = 0; b < N / 4096; b++) {
      for (let k = 0; k < 4096; k++) seen += decode(k * 72 + 8).seq;
    }
    decodes.push((N / (cpuNow() - start)) * 1e9);
    if (seen < 0n) throw new Error('unreachable');
  }
  console.log(`- decoding { seq: u64, last: u64 } of a 64 B event into BigInts from memory: ${mps(median(decodes))} M/s`);
}

interface Live {
  sched: Schedstat;
  received: number;
  dropped: number;
  uncounted: number;
  producerRate: number;
}

/**
 * One live run: the producer on CPU 0 in another process, the consumer on `consumerCpu` (1, or
 * 0 to share the CPU); the producer at full speed, or paced at `rate` events/s.
 */
async function liveOnce(consumer: Consumer, producerBin: string, size: Size, consumerCpu: number, rate?: number): Promise<Live> {
  using object = loadFilled(size, 0);
  const pin = join(PIN_DIR, `live-events-${size}`);
  const progPin = join(PIN_DIR, `live-produce-${size}`);
  object.pinMap('EVENTS', pin);
  object.program(`produce${size}`).pin(progPin);
  try {
    const run = await consumer.live(object, pin, size, consumerCpu);
    await run.started;
    const produced = parse<{ runs: number; ns: number }>(
      'ring_producer',
      await exited(spawn('taskset', ['-c', '0', producerBin, progPin, String(LIVE_EVENTS), ...(rate ? [String(rate)] : [])], { stdio: ['ignore', 'pipe', 'pipe'] })),
    );
    const dropped = Number(object.nativeObject.perCpuCounterSum('DROPS'));
    const read = await run.stop(produced.runs - dropped);
    return {
      sched: read.sched!,
      received: read.events,
      dropped,
      uncounted: produced.runs - read.events - dropped,
      producerRate: (produced.runs / produced.ns) * 1e9,
    };
  } finally {
    unlinkSync(pin);
    unlinkSync(progPin);
  }
}

async function table3(consumers: Consumer[], producerBin: string, consumerCpu: number, rate?: number) {
  const title = rate
    ? `3c. Loss at one offered rate for every consumer: the producer paced at ${mps(rate)} M events/s on CPU 0, consumer on CPU 1`
    : consumerCpu === 0
      ? '3b. Loss with one CPU for both: producer and consumer on CPU 0 (taskset -c 0), taking turns'
      : '3. Loss under a live producer: BPF_PROG_TEST_RUN at full speed in another process on CPU 0, consumer on CPU 1';
  console.log(`\n${title}, ${LIVE_EVENTS.toLocaleString('en-US')} events a run; each round: received / dropped (counted by the DROPS map) / lost uncounted`);
  console.log('(consumer on CPU / waiting for a CPU: its threads\' time running and runnable but queued behind others, from schedstat, medians; ms)');
  console.log(`| size | consumer | ${Array.from({ length: ROUNDS }, (_, i) => `round ${i + 1}`).join(' | ')} | median dropped | producer M/s | consumer on CPU / waiting for a CPU |`);
  console.log(`| ---: | --- | ${Array.from({ length: ROUNDS }, () => '---:').join(' | ')} | ---: | ---: | ---: |`);
  const notes: string[] = [];
  for (const size of SIZES) {
    const runs = new Map<string, Live[]>(consumers.map((c) => [c.name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of consumers) runs.get(c.name)!.push(await liveOnce(c, producerBin, size, consumerCpu, rate));
    }
    for (const c of consumers) {
      const rs = runs.get(c.name)!;
      const cells = rs.map((r) => `${r.received.toLocaleString('en-US')} / ${r.dropped.toLocaleString('en-US')} / ${r.uncounted}`);
      const dropped = median(rs.map((r) => r.dropped / LIVE_EVENTS));
      const ms = (ns: number) => (ns / 1e6).toFixed(0);
      const sched = `${ms(median(rs.map((r) => r.sched.onCpuNs)))} / ${ms(median(rs.map((r) => r.sched.waitNs)))}`;
      console.log(`| ${size} B | ${c.name} | ${cells.join(' | ')} | ${(dropped * 100).toFixed(1)}% | ${mps(median(rs.map((r) => r.producerRate)))} | ${sched} |`);
    }
    // The issue's target: no drops from aya-node in a round where C dropped none.
    const cRuns = runs.get('C libbpf')!;
    const worse = consumers
      .filter((c) => c.name.startsWith('aya-node'))
      .map((c) => ({ name: c.name, rounds: runs.get(c.name)!.filter((r, i) => cRuns[i].dropped === 0 && r.dropped + r.uncounted > 0).length }))
      .filter((w) => w.rounds > 0);
    const uncounted = [...runs.values()].flat().reduce((n, r) => n + r.uncounted, 0);
    notes.push(
      `${size} B: ${worse.length === 0 ? 'aya-node dropped nothing in rounds where C dropped nothing' : `dropped where C dropped nothing: ${worse.map((w) => `${w.name} in ${w.rounds}/${ROUNDS} rounds`).join(', ')}`}; events lost without a count: ${uncounted}`,
    );
  }
  for (const note of notes) console.log(note);
}

async function main() {
  const bins = build();
  rmSync(PIN_DIR, { recursive: true, force: true });
  mkdirSync(PIN_DIR);
  const cleanUp = () => rmSync(PIN_DIR, { recursive: true, force: true });
  process.on('exit', cleanUp);
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model.trim()}, Linux ${release()}, Node ${process.version}; load average at start ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`ring ${RING_BYTES / 1024 / 1024} MiB; medians of ${ROUNDS} interleaved rounds; ×: ratio to C libbpf in the same run`);
  if (bins.goMissing) console.log(`Go consumer skipped: \`go build\` in bench/go failed (${bins.goMissing}); it needs Go >= 1.25 on PATH`);
  const consumers: Consumer[] = [
    externalConsumer('C libbpf', bins.c),
    ...(bins.go ? [externalConsumer('Go cilium/ebpf', bins.go)] : []),
    ayaConsumer('raw', 'aya-node recordBatches()'),
    ayaConsumer('batches', 'aya-node batches() decoded'),
    ayaConsumer('for-await', 'aya-node for await decoded'),
  ];
  // PARTS picks tables (default all): drain, limits, one-cpu, live, live-one-cpu, live-paced.
  const parts = new Set((process.env.PARTS ?? 'drain,limits,one-cpu,live,live-one-cpu,live-paced').split(','));
  if (parts.has('drain')) await table2(consumers, '2. Consumer-bound, a full ring drained');
  if (parts.has('limits')) await limits(bins);
  if (parts.has('one-cpu')) {
    setAffinity('0');
    try {
      await table2(consumers, '2b. Consumer-bound on one CPU (this process and the consumers it starts: taskset -c 0)');
    } finally {
      setAffinity(ALL_CPUS);
    }
  }
  if (parts.has('live')) await table3(consumers, bins.producer, 1);
  if (parts.has('live-one-cpu')) await table3(consumers, bins.producer, 0);
  // At full speed the producer's pace depends on the consumer (a consumer woken per event, as
  // libbpf's poll is, makes every commit pay for a wake-up): here every consumer gets the same.
  if (parts.has('live-paced')) for (const rate of PACED_RATES) await table3(consumers, bins.producer, 1, rate);
  console.log(`\nload average at end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

// Ring buffer streaming: how fast TypeScript consumes kernel events, against a Rust consumer
// (Aya alone, no JS) measured in the same run, for events of 16, 64 and 256 bytes in a 16 MiB
// ring. The producers are the socket filters of ebpf/programs/src/bin/stream_producers.rs, run
// with BPF_PROG_TEST_RUN (each run emits one event with the next sequence number).
//
// 1. Consumer-bound: the ring is filled first, then drained.
// 2. Producer-bound: a native thread test-runs the producer in a loop while TypeScript consumes.
// 3. CPU time of the Node process per million events (the producer thread's own CPU time is
//    measured on that thread and left out).
//
// Needs root. Run: npm run bench (builds the native hooks it drives)

import './native'; // first: loads the native module built with the benchmark hooks
import type * as bench from './native';
import { cpus, release } from 'node:os';
import { bundledObjectPath, codec, Ebpf, type RingBuf } from '../src';

const { struct, u32, u64, padding } = codec;
const RING_BYTES = 16 * 1024 * 1024;
/** A socket filter's test run needs a packet of at least an Ethernet header. */
const PACKET = Buffer.alloc(64);
const ROUNDS = 5;
/** Producer-bound runs are listed one by one (drops depend on scheduling: show the spread). */
const PRODUCER_ROUNDS = 3;
/** Events per batch (one native call), for every consumer: the default of `batches()`. */
const MAX_BATCH = Number(process.env.MAX_BATCH ?? 4096);
/** The read buffer every consumer reuses: the default of `batches()`. */
const BUFFER_BYTES = 1024 * 1024;
const SIZES = [16, 64, 256] as const;
type Size = (typeof SIZES)[number];

/** aya_node_common::streams::SeqEvent<PAD>: its fields, and its padding skipped. */
const seqEvent = (size: Size) =>
  size === 16 ? struct({ seq: u64, pid: u32, cpu: u32 }) : struct({ seq: u64, pid: u32, cpu: u32, pad: padding(size - 16) });
type SeqEvent = { seq: bigint; pid: number; cpu: number };

/** Events that fit in the ring: each record has an 8-byte header (sizes are multiples of 8). */
const capacity = (size: Size) => Math.floor(RING_BYTES / (size + 8));

const cpuNs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) * 1000;
};

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const fmt = (n: number, width = 12) => Math.round(n).toLocaleString('en-US').padStart(width);

function open(size: Size) {
  const object = Ebpf.load(bundledObjectPath('stream_producers'));
  const fill = (n: number) => {
    object.program(`produce${size}`).testRun({ data: PACKET, repeat: n });
    const drops = object.nativeObject.perCpuCounterSum('DROPS');
    if (drops !== 0n) throw new Error(`filling the ring dropped ${drops} events`);
  };
  return { object, fill };
}

interface Measured {
  rate: number;
  cpuPerMillion: number;
}

/** Median over rounds of events/s and CPU ms per million events. */
function summarize(samples: { events: number; ns: number; cpu: number }[]): Measured {
  return {
    rate: median(samples.map((s) => (s.events / s.ns) * 1e9)),
    cpuPerMillion: median(samples.map((s) => (s.cpu / s.events) * 1e6 / 1e6)),
  };
}

/** Aya's own per-record iterator over the same fill, for reference. */
function ayaDrainRate(size: Size, n: number): number {
  using object = Ebpf.load(bundledObjectPath('stream_producers'));
  const rounds = (object.nativeObject as unknown as bench.EbpfObject).benchAyaDrain('EVENTS', `produce${size}`, PACKET, n, ROUNDS);
  for (const r of rounds) if (r.events !== n || r.outOfOrder !== 0) throw new Error(`aya drain saw ${r.events}/${n}`);
  return median(rounds.map((r) => (r.events / r.elapsedNs) * 1e9));
}

function nativeDrain(size: Size, n: number): Measured {
  const { object, fill } = open(size);
  using _ = object;
  const reader = object.nativeObject.takeRingBuf('EVENTS') as unknown as bench.RingBufReader;
  const samples = [];
  for (let round = 0; round < ROUNDS; round++) {
    fill(n);
    const cpu0 = cpuNs();
    const drained = reader.benchDrain(MAX_BATCH, BUFFER_BYTES);
    const cpu = cpuNs() - cpu0;
    if (drained.events !== n || drained.outOfOrder !== 0) {
      throw new Error(`native drain saw ${drained.events}/${n} events, ${drained.outOfOrder} out of order`);
    }
    samples.push({ events: n, ns: drained.elapsedNs, cpu });
  }
  reader.close();
  return summarize(samples);
}

/** Drains `n` waiting events from TypeScript, raw `Buffer`s or decoded objects. */
async function tsDrain(size: Size, n: number, decoded: boolean): Promise<Measured> {
  const { object, fill } = open(size);
  using _ = object;
  const ring: RingBuf<Buffer | SeqEvent> = decoded ? object.ringBuf('EVENTS', seqEvent(size)) : object.ringBuf('EVENTS');
  const samples = [];
  let expected = 0n;
  for (let round = 0; round < ROUNDS; round++) {
    fill(n);
    let events = 0;
    let bytesSeen = 0;
    const cpu0 = cpuNs();
    const start = process.hrtime.bigint();
    if (decoded) {
      for await (const batch of (ring as RingBuf<SeqEvent>).batches({ lingerMs: 0, maxBatch: MAX_BATCH })) {
        events += batch.length;
        // In order and none missing: the batch's sequence numbers run from `expected` on.
        const first = batch[0].seq;
        const last = batch[batch.length - 1].seq;
        if (first !== expected || last - first !== BigInt(batch.length - 1)) throw new Error(`batch from ${first} to ${last}, expected ${expected} on`);
        expected = last + 1n;
        if (events >= n) break;
      }
    } else {
      for await (const batch of ring.recordBatches({ lingerMs: 0, maxBatch: MAX_BATCH })) {
        events += batch.count;
        batch.forEach((_data, _start, length) => {
          bytesSeen += length;
        });
        if (events >= n) break;
      }
    }
    const ns = Number(process.hrtime.bigint() - start);
    const cpu = cpuNs() - cpu0;
    if (events !== n || (!decoded && bytesSeen !== n * size)) throw new Error(`TypeScript drain saw ${events}/${n} events`);
    samples.push({ events, ns, cpu });
  }
  return summarize(samples);
}

interface ProducerBound {
  produced: number;
  consumed: number;
  dropped: bigint;
  producerRate: number;
  consumerRate: number;
  cpuPerMillion: number;
}

/** A native thread test-runs the producer `runs` times while TypeScript consumes. */
async function producerBound(size: Size, runs: number, decoded: boolean): Promise<ProducerBound> {
  using object = Ebpf.load(bundledObjectPath('stream_producers'));
  const ring: RingBuf<Buffer | SeqEvent> = decoded
    ? object.ringBuf('EVENTS', seqEvent(size), { dropCounter: 'DROPS' })
    : object.ringBuf('EVENTS', undefined, { dropCounter: 'DROPS' });
  const stop = new AbortController();
  let consumed = 0;
  let target = Infinity;
  let lastSeq = -1n;
  const consume = (async () => {
    try {
      if (decoded) {
        for await (const batch of (ring as RingBuf<SeqEvent>).batches({ signal: stop.signal })) {
          consumed += batch.length;
          for (const ev of batch) lastSeq = ev.seq;
          if (consumed >= target) return;
        }
      } else {
        for await (const batch of ring.recordBatches({ signal: stop.signal })) {
          consumed += batch.count;
          batch.forEach(() => {});
          if (consumed >= target) return;
        }
      }
    } catch (err) {
      if (!stop.signal.aborted) throw err;
    }
  })();
  const cpu0 = cpuNs();
  const start = process.hrtime.bigint();
  const produced = await (object.nativeObject as unknown as bench.EbpfObject).benchProduce(`produce${size}`, PACKET, runs, 1000);
  const dropped = ring.drops();
  target = runs - Number(dropped);
  // The consumer may already hold everything (then no batch will come to end its loop).
  while (consumed < target) await new Promise((resolve) => setImmediate(resolve));
  stop.abort();
  await consume;
  const ns = Number(process.hrtime.bigint() - start);
  const nodeCpu = cpuNs() - cpu0 - produced.cpuNs;
  if (decoded && dropped === 0n && lastSeq !== BigInt(runs - 1)) throw new Error(`last event ${lastSeq}, expected ${runs - 1}`);
  return {
    produced: produced.runs,
    consumed,
    dropped,
    producerRate: (produced.runs / produced.elapsedNs) * 1e9,
    consumerRate: (consumed / ns) * 1e9,
    cpuPerMillion: (nodeCpu / consumed) * 1e6 / 1e6,
  };
}

async function main() {
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model.trim()}, Linux ${release()}, Node ${process.version}`);
  console.log(`ring ${RING_BYTES / 1024 / 1024} MiB; medians of ${ROUNDS} rounds; CPU = Node process user+system time\n`);

  console.log('1. consumer-bound: ring filled first, then drained');
  console.log('size  events/drain   aya iter ev/s   native ev/s    ts raw ev/s   raw/native   ts decoded ev/s   decoded/native   CPU ms/1M: native    raw   decoded');
  for (const size of SIZES) {
    const n = Math.floor(capacity(size) * 0.9);
    const aya = ayaDrainRate(size, n);
    const native = nativeDrain(size, n);
    const raw = await tsDrain(size, n, false);
    const decoded = await tsDrain(size, n, true);
    console.log(
      `${String(size).padStart(4)}  ${fmt(n, 12)}  ${fmt(aya, 13)}   ${fmt(native.rate)}   ${fmt(raw.rate)}   ${(raw.rate / native.rate).toFixed(2).padStart(10)}   ${fmt(decoded.rate, 15)}   ${(decoded.rate / native.rate).toFixed(2).padStart(14)}   ${fmt(native.cpuPerMillion, 16)} ${fmt(raw.cpuPerMillion, 6)} ${fmt(decoded.cpuPerMillion, 9)}`,
    );
  }

  console.log('\n2. producer-bound: a native thread runs BPF_PROG_TEST_RUN (1000 runs a call) while TypeScript consumes');
  console.log('size  consumer    produced    consumed   dropped   producer ev/s   consumed ev/s   Node CPU ms/1M');
  for (const size of SIZES) {
    for (const decoded of [false, true]) for (let round = 0; round < PRODUCER_ROUNDS; round++) {
      const r = await producerBound(size, 2_000_000, decoded);
      console.log(
        `${String(size).padStart(4)}  ${(decoded ? 'decoded' : 'raw').padEnd(8)} ${fmt(r.produced, 11)} ${fmt(r.consumed, 11)} ${fmt(Number(r.dropped), 9)}   ${fmt(r.producerRate, 13)}   ${fmt(r.consumerRate, 13)}   ${fmt(r.cpuPerMillion, 14)}`,
      );
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

// dev-only quick drain measure (not committed)
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { bundledObjectPath, codec, Ebpf } from '../src';
const { struct, u64, padding } = codec;
const size = Number(process.env.SIZE ?? 64) as 16 | 64 | 256;
const modes = (process.env.MODES ?? 'raw,batches,for-await').split(',');
const n = Math.floor((16 * 1024 * 1024) / (size + 8));
const PACKET = Buffer.alloc(64);
const T = size === 16 ? struct({ seq: u64, last: u64 }) : struct({ seq: u64, skip: padding(size - 16), last: u64 });
async function once(mode: string) {
  using object = Ebpf.load(bundledObjectPath('stream_producers'));
  object.program(`produce${size}`).testRun({ data: PACKET, repeat: n });
  const ring0 = mode === 'raw' ? object.ringBuf('EVENTS') : undefined;
  const ringT = mode !== 'raw' ? object.ringBuf('EVENTS', T) : undefined;
  const session = new Session(); if (process.env.PROF) { session.connect(); await new Promise((r) => session.post('Profiler.enable', () => session.post('Profiler.start', r))); }
  const t0 = process.hrtime.bigint(); const c0 = process.cpuUsage();
  let events = 0; let bad = 0;
  if (mode === 'raw') {
    let expected = 0;
    let walk = 0n;
    const it = ring0!.recordBatches();
    for await (const batch of it) {
      const w0 = process.hrtime.bigint();
      batch.forEach((data, at, length) => { const seq = data.readUInt32LE(at); if (seq !== expected) bad++; expected = (seq + 1) >>> 0; if (data.readUInt32LE(at + length - 4) < 0) bad++; });
      walk += process.hrtime.bigint() - w0;
      events += batch.count; if (events >= n) break;
    }
    console.log('walk ms', Number(walk) / 1e6);
  } else if (mode === 'batches') {
    let expected = 0n;
    for await (const batch of ringT!.batches()) { for (const ev of batch) { if (ev.seq !== expected) bad++; expected = ev.seq + 1n; } events += batch.length; if (events >= n) break; }
  } else {
    let expected = 0n;
    for await (const ev of ringT!) { if (ev.seq !== expected) bad++; expected = ev.seq + 1n; if (++events >= n) break; }
  }
  const ns = Number(process.hrtime.bigint() - t0); const c = process.cpuUsage(c0);
  if (process.env.PROF) await new Promise((r) => session.post('Profiler.stop', (_e: unknown, { profile }: any) => { writeFileSync(`${process.env.PROF}-${mode}.cpuprofile`, JSON.stringify(profile)); r(0); }));
  console.log(`${size} B ${mode}: ${(events / ns * 1e3).toFixed(2)} M/s wall, ${(events / (c.user + c.system)).toFixed(2)} M/CPU s, bad ${bad}`);
}
(async () => { for (let r = 0; r < Number(process.env.ROUNDS ?? 2); r++) for (const m of modes) await once(m); })();

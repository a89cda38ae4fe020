import test from 'ava';
import { cpus } from 'node:os';
import { bundledObjectPath, Ebpf, PerfEvent } from '../src';
import { kernelLinks } from './helpers';
import { collect, TestEvent } from './programs-helpers';

function busy(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // spin: the cpu-clock of this thread advances only while it runs
  }
}

test('a software cpu-clock sampler on this thread fires at about the requested frequency', async (t) => {
  using obj = Ebpf.load(bundledObjectPath('perf_event'));
  const events = obj.ringBuf('EVENTS', TestEvent);
  const FREQUENCY = 200;
  const link = obj.program('on_sample', PerfEvent).attach({ event: 'cpu-clock', frequency: FREQUENCY, pid: 'self' });
  t.is(link.kind, 'perf_event');
  busy(1000);
  link.detach();
  const samples = (await collect(events, 200)).filter((e) => e.tgid === process.pid);
  t.log(`${samples.length} samples in 1 s at ${FREQUENCY} Hz`);
  t.true(samples.length > FREQUENCY * 0.5 && samples.length < FREQUENCY * 1.5, `${samples.length} samples`);
  busy(200);
  t.deepEqual(await collect(events, 100), [], 'no samples after detach');
});

test('without a cpu, one link covers every online CPU and detaches them all', async (t) => {
  using obj = Ebpf.load(bundledObjectPath('perf_event'));
  const events = obj.ringBuf('EVENTS', TestEvent);
  const before = kernelLinks().length;
  const prog = obj.program('on_sample', PerfEvent);
  const link = prog.attach({ event: 'cpu-clock', frequency: 100 });
  const perfLinks = kernelLinks().filter((l) => l.prog_id === prog.id);
  t.is(perfLinks.length, cpus().length, 'one perf link per CPU');
  await new Promise((r) => setTimeout(r, 500));
  link.detach();
  const samples = await collect(events, 200);
  const perCpu = new Set(samples.map((e) => Number(e.value)));
  t.log(`${samples.length} samples in 0.5 s on CPUs ${[...perCpu].join(',')}`);
  t.true(samples.length > 0);
  t.is(kernelLinks().length, before, 'every per-CPU link is gone');
});

test('bad sampling options are an INVALID_ARGUMENT error', (t) => {
  using obj = Ebpf.load(bundledObjectPath('perf_event'));
  const prog = obj.program('on_sample', PerfEvent);
  t.is(t.throws(() => prog.attach({ event: 'cpu-clock' }))?.name, 'EbpfError');
  t.is((t.throws(() => prog.attach({ event: 'no-such-event' as 'cpu-clock', period: 1 })) as { code?: string }).code, 'INVALID_ARGUMENT');
});

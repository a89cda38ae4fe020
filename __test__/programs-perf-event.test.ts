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
  // The thread's cpu-clock runs only while it is on a CPU; on a loaded machine that is less
  // than the wall time, so compare with the CPU time the process actually got.
  const cpuBefore = process.cpuUsage();
  busy(1000);
  link.detach();
  const cpu = process.cpuUsage(cpuBefore);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const expected = FREQUENCY * cpuSeconds;
  const samples = (await collect(events, 200)).filter((e) => e.tgid === process.pid);
  t.log(`${samples.length} samples for ${cpuSeconds.toFixed(2)} s of CPU at ${FREQUENCY} Hz (expected ~${expected.toFixed(0)})`);
  t.true(cpuSeconds > 0.1, 'the busy loop got some CPU');
  t.true(samples.length > expected * 0.6 && samples.length < expected * 1.3, `${samples.length} samples`);
  busy(200);
  t.deepEqual(await collect(events, 100), [], 'no samples after detach');
});

test('without a cpu, one link covers every online CPU and detaches them all', async (t) => {
  using obj = Ebpf.load(bundledObjectPath('perf_event'));
  const events = obj.ringBuf('EVENTS', TestEvent);
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
  t.false(kernelLinks().some((l) => l.prog_id === prog.id), 'every per-CPU link is gone');
});

test('bad sampling options are an INVALID_ARGUMENT error', (t) => {
  using obj = Ebpf.load(bundledObjectPath('perf_event'));
  const prog = obj.program('on_sample', PerfEvent);
  t.is(t.throws(() => prog.attach({ event: 'cpu-clock' }))?.name, 'EbpfError');
  t.is((t.throws(() => prog.attach({ event: 'no-such-event' as 'cpu-clock', period: 1 })) as { code?: string }).code, 'INVALID_ARGUMENT');
});

// aya-node/metrics: counters that stay monotonic across map resets, gauges, cumulative
// histograms with every bound, labels from keys; the exposition formats; the tools' new
// non-resetting reads (Syscount.counts(), totals() with sums) and ring drop counters.

import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArrayMap, Biolatency, Execsnoop, HashMap, PerCpuArray, possibleCpus, Runqlat, Syscount, codec } from '../src';
import {
  counter,
  droppedEventsMetric,
  EventCounter,
  EventHistogram,
  gauge,
  histogram,
  log2Bounds,
  mapCounter,
  mapGauge,
  mapHistogram,
  negotiateFormat,
  OTHER,
  render,
  syscallName,
  syscountMetrics,
  latencyMetric,
  type CounterMetric,
  type Metric,
} from '../src/metrics';
import { uniqueTrue } from './helpers';

const { u32, u64 } = codec;

const promtool = (text: string) => spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });

test('a counter absorbs resets and vanished entries: it never goes down', (t) => {
  let reading: Array<{ id: string; value: number }> = [];
  const c = counter({ name: 'x_total', help: 'x', labelNames: ['k'], observe: () => reading.map((r) => ({ id: r.id, labels: { k: 'a' }, value: r.value })) });
  const value = () => c.collect()[0]?.value;
  reading = [{ id: '1', value: 5 }, { id: '2', value: 3 }];
  t.is(value(), 8);
  reading = [{ id: '1', value: 7 }, { id: '2', value: 3 }];
  t.is(value(), 10, 'growth adds');
  reading = [{ id: '1', value: 2 }, { id: '2', value: 3 }];
  t.is(value(), 12, 'a reset entry (drained) adds its new value');
  reading = [{ id: '2', value: 4 }];
  t.is(value(), 13, 'a deleted entry keeps what it added');
  reading = [{ id: '1', value: 1 }, { id: '2', value: 4 }];
  t.is(value(), 14, 'a re-created entry starts from zero');
  reading = [];
  t.is(value(), 14, 'an empty map keeps the series');
});

test('gauges sum entries with the same labels; label sets past maxSeries fold into _other', (t) => {
  const g = gauge({ name: 'g', help: 'g', labelNames: ['k'], maxSeries: 2, observe: () => ['a', 'a', 'b', 'c', 'd'].map((k, i) => ({ labels: { k }, value: i + 1 })) });
  t.deepEqual(g.collect(), [
    { labels: { k: 'a' }, value: 3 },
    { labels: { k: 'b' }, value: 3 },
    { labels: { k: OTHER }, value: 9 },
  ]);
});

test('arguments are checked with errors that name them', (t) => {
  const observe = () => [];
  t.throws(() => counter({ name: 'no_suffix', help: '', observe }), { instanceOf: TypeError, message: /_total/ });
  t.throws(() => gauge({ name: 'g_total', help: '', observe }), { instanceOf: TypeError, message: /only counters/ });
  t.throws(() => gauge({ name: '1bad', help: '', observe }), { instanceOf: TypeError, message: /options.name/ });
  t.throws(() => gauge({ name: 'g', help: '', labelNames: ['__x'], observe }), { instanceOf: TypeError, message: /labelNames/ });
  t.throws(() => histogram({ name: 'h', help: '', labelNames: ['le'], bounds: [1], observe }), { instanceOf: TypeError, message: /le/ });
  t.throws(() => histogram({ name: 'h', help: '', bounds: [2, 1], observe }), { instanceOf: RangeError, message: /options.bounds must increase/ });
  t.throws(() => gauge({ name: 'g', help: '', observe: 1 as never }), { instanceOf: TypeError, message: /options.observe/ });
  t.throws(() => gauge({ name: 'g', help: '', maxSeries: 0, observe }), { instanceOf: RangeError, message: /maxSeries/ });
  const bad = gauge({ name: 'g', help: '', labelNames: ['a'], observe: () => [{ labels: { b: 'x' }, value: 1 }] });
  t.throws(() => bad.collect(), { instanceOf: TypeError, message: /labels/ });
  t.throws(() => log2Bounds(0), { instanceOf: RangeError });
  t.throws(() => mapCounter({} as never, { name: 'm_total', help: '' }), { instanceOf: TypeError, message: /map/ });
});

test('histograms are cumulative at every bound, with _sum and _count, across bucket resets', (t) => {
  let counts = [1, 0, 2, 0];
  let sum = 10;
  const h = histogram({
    name: 'lat_seconds',
    help: 'latency',
    bounds: [1, 2, 4],
    observe: () => counts.map((value, bucket) => ({ id: String(bucket), labels: {}, bucket, value })),
    observeSum: () => [{ labels: {}, value: sum }],
  });
  t.deepEqual(h.collect(), [{ labels: {}, buckets: [1, 1, 3], count: 3, sum: 10 }]);
  counts = [0, 1, 0, 5]; // bucket 0 and 2 were reset, 1 and the overflow grew
  sum = 4; // reset too
  t.deepEqual(h.collect(), [{ labels: {}, buckets: [1, 2, 4], count: 9, sum: 14 }]);
  const text = render([h]);
  t.is(
    text,
    [
      '# HELP lat_seconds latency',
      '# TYPE lat_seconds histogram',
      'lat_seconds_bucket{le="1"} 1',
      'lat_seconds_bucket{le="2"} 2',
      'lat_seconds_bucket{le="4"} 4',
      'lat_seconds_bucket{le="+Inf"} 9',
      'lat_seconds_sum 14',
      'lat_seconds_count 9',
      '',
    ].join('\n'),
  );
  t.deepEqual(log2Bounds(3, 1e-6), [2e-6, 4e-6, 8e-6]);
  t.is(log2Bounds(63, 1e-6)[53], 2 ** 54 * 1e-6);
});

test('the Prometheus text and OpenMetrics renderings: escaping, counter names, # EOF, promtool', (t) => {
  const c = new EventCounter({ name: 'req_total', help: 'requests "quoted"\nand \\ more', labelNames: ['path'] });
  c.inc({ path: 'a"b\\c\nd' }, 2);
  c.inc({ path: 'x' });
  t.throws(() => c.inc({ path: 'x' }, -1), { instanceOf: RangeError });
  const h = new EventHistogram({ name: 'size_bytes', help: 'sizes', labelNames: ['kind'], bounds: [10, 100] });
  h.observe({ kind: 'a' }, 5);
  h.observe({ kind: 'a' }, 50);
  h.observe({ kind: 'a' }, 500);
  h.observe({ kind: 'a' }, 10);
  const prom = render([c, h], 'prometheus');
  t.regex(prom, /^# HELP req_total requests "quoted"\\nand \\\\ more$/m);
  t.regex(prom, /^req_total\{path="a\\"b\\\\c\\nd"\} 2$/m);
  t.regex(prom, /^size_bytes_bucket\{kind="a",le="10"\} 2$/m, 'a value on a bound counts in that bucket (le)');
  t.regex(prom, /^size_bytes_bucket\{kind="a",le="\+Inf"\} 4$/m);
  t.regex(prom, /^size_bytes_sum\{kind="a"\} 565$/m);
  const check = promtool(prom);
  t.is(check.status, 0, check.stdout + check.stderr);
  const om = render([c, h], 'openmetrics');
  t.regex(om, /^# TYPE req counter$/m);
  t.regex(om, /^# HELP req requests \\"quoted\\"\\nand \\\\ more$/m);
  t.regex(om, /^req_total\{path="x"\} 1$/m);
  t.true(om.endsWith('\n# EOF\n'));
  t.is(negotiateFormat('application/openmetrics-text; version=1.0.0'), 'openmetrics');
  t.is(negotiateFormat('text/plain'), 'prometheus');
  t.is(negotiateFormat(undefined), 'prometheus');
  t.throws(() => render([c, c]), { message: /two metrics are named req_total/ });
  // A metric that fails to collect is left out; the others are still served.
  const broken: Metric = { type: 'gauge', name: 'broken', help: '', labelNames: [], collect: () => { throw new Error('boom'); } };
  const errors: string[] = [];
  t.regex(render([broken, c], 'prometheus', (m) => errors.push(m.name)), /req_total/);
  t.deepEqual(errors, ['broken']);
});

test('map metrics read kernel maps at collection: labels from keys, per-CPU sums, counters that survive a clear', (t) => {
  using counts = HashMap.create({ maxEntries: 16 }, u32, u64);
  const syscalls = mapCounter(counts, { name: 'app_syscalls_total', help: 'by syscall', labelNames: ['syscall'], labels: (nr) => ({ syscall: syscallName(nr) }) });
  const current = mapGauge(counts, { name: 'app_current', help: 'now', labelNames: ['syscall'], labels: (nr) => (nr === 0 ? undefined : { syscall: syscallName(nr) }) });
  counts.set(0, 5n).set(39, 2n);
  const byName = (m: Metric) => Object.fromEntries((m.collect() as Array<{ labels: { syscall: string }; value: number }>).map((s) => [s.labels.syscall, s.value]));
  t.deepEqual(byName(syscalls), { [syscallName(0)]: 5, [syscallName(39)]: 2 });
  counts.clear();
  counts.set(39, 1n);
  t.deepEqual(byName(syscalls), { [syscallName(0)]: 5, [syscallName(39)]: 3 }, 'the cleared map did not take the counter down');
  t.deepEqual(byName(current), { [syscallName(39)]: 1 }, 'a gauge is the map now; undefined labels leave the entry out');

  using perCpu = PerCpuArray.create({ maxEntries: 4 }, u64);
  const cpus = possibleCpus();
  perCpu.set(0, new Array(cpus).fill(1n));
  perCpu.set(3, new Array(cpus).fill(2n));
  const h = mapHistogram(perCpu, { name: 'app_latency_seconds', help: 'log2', bounds: log2Bounds(3, 1e-6), sum: () => 0.5 });
  t.deepEqual(h.collect(), [{ labels: {}, buckets: [cpus, cpus, cpus], count: 3 * cpus, sum: 0.5 }]);
  t.true(promtool(render([syscalls, current, h])).status === 0);

  using arr = ArrayMap.create({ maxEntries: 2 }, u32);
  const noValue = mapCounter(arr, { name: 'arr_total', help: '', value: (v) => v * 2 });
  arr.set(1, 21);
  t.deepEqual(noValue.collect(), [{ labels: {}, value: 42 }]);
});

// Serial: the tests count this process's own getppid(2) calls.
test.serial('Syscount.counts() never resets, snapshot() included; forget() drops a key', async (t) => {
  using sc = Syscount.open({ pid: process.pid });
  for (let i = 0; i < 300; i++) void process.ppid; // one getppid(2) each
  const first = sc.snapshot().find((c) => c.name === 'getppid')!;
  t.true(first.count >= 300);
  for (let i = 0; i < 200; i++) void process.ppid;
  const total = sc.counts().find((c) => c.name === 'getppid')!;
  t.true(total.count >= first.count + 200 && total.count <= first.count + 205, `counts() = drained ${first.count} + 200 new (${total.count})`);
  t.is(sc.counts().find((c) => c.name === 'getppid')!.count, total.count, 'reading did not reset');
  const metric = syscountMetrics(sc)[0] as CounterMetric;
  const before = metric.collect().find((s) => s.labels.syscall === 'getppid')!.value;
  sc.snapshot(); // the CLI's interval reports drain the map: the metric does not notice
  for (let i = 0; i < 100; i++) void process.ppid;
  await new Promise((r) => setTimeout(r, 250)); // past the per-scrape reuse of one reading
  const after = metric.collect().find((s) => s.labels.syscall === 'getppid')!.value;
  t.true(after >= before + 100 && after <= before + 105, `the metric grew by the 100 new calls (${before} -> ${after})`);
  sc.forget(first.key);
  t.is(sc.counts().find((c) => c.name === 'getppid'), undefined);
  t.throws(() => sc.forget(-1), { message: /key must be a u32/ });
});

test.serial('per-process syscount metrics: labelled by comm while the process runs', async (t) => {
  using sc = Syscount.open({ byProcess: true, pid: process.pid });
  t.true(sc.byProcess);
  for (let i = 0; i < 100; i++) void process.ppid;
  const [calls, seconds] = syscountMetrics(sc) as CounterMetric[];
  t.is(calls.name, 'aya_process_syscalls_total');
  const mine = calls.collect().find((s) => s.labels.comm === 'node' || s.labels.comm === 'MainThread');
  t.true(mine !== undefined && mine.value >= 100, JSON.stringify(calls.collect()));
  t.true(seconds.collect()[0].value > 0);
});

test.serial('alsoByComm: one Syscount counts per syscall and per command name in the same pass, the name as of each syscall', async (t) => {
  t.throws(() => Syscount.open({ byProcess: true, alsoByComm: true }), { message: /exclude each other/ });
  using sc = Syscount.open({ alsoByComm: true });
  t.true(sc.alsoByComm);
  // A shell that renames itself by exec: its syscalls before the exec count under `sh`-like
  // names, the ones after under the unique name of the program it became.
  const { path, cleanup } = uniqueTrue();
  t.teardown(cleanup);
  const name = path.split('/').pop()!.slice(0, 15);
  for (let i = 0; i < 3; i++) execFileSync('/bin/sh', ['-c', `exec ${path}`]);
  const mine = sc.commCounts().find((c) => c.comm === name);
  t.true(mine !== undefined && mine.count >= 3 * 5, `the exec'd program's syscalls are under its own name (${mine?.count})`);
  t.true(mine!.totalNs > 0);
  const metrics = syscountMetrics(sc);
  t.deepEqual(metrics.map((m) => m.name), ['aya_syscalls_total', 'aya_syscall_seconds_total', 'aya_process_syscalls_total', 'aya_process_syscall_seconds_total']);
  const perComm = (metrics[2] as CounterMetric).collect().find((s) => s.labels.comm === name);
  t.is(perComm?.value, sc.commCounts().find((c) => c.comm === name)!.count);
  using plain = Syscount.open({ pid: process.pid });
  t.throws(() => plain.commCounts(), { message: /without alsoByComm/ });
});

test.serial('countOnly: counted at entry without timing, one program per syscall; the metrics leave the seconds out', (t) => {
  using sc = Syscount.open({ pid: process.pid, countOnly: true, alsoByComm: true });
  t.true(sc.countOnly);
  t.true(sc.object.program('syscount_enter').loaded);
  t.false(sc.object.program('syscount_exit').loaded, 'the exit program is not even loaded');
  for (let i = 0; i < 200; i++) void process.ppid;
  const getppid = sc.counts().find((c) => c.name === 'getppid');
  t.true(getppid !== undefined && getppid.count >= 200 && getppid.count <= 205, `${getppid?.count}`);
  t.is(getppid!.totalNs, 0);
  t.deepEqual(syscountMetrics(sc).map((m) => m.name), ['aya_syscalls_total', 'aya_process_syscalls_total']);
});

test('a counter follows an entry whose labels change: later growth goes to the new series, nothing twice', (t) => {
  let reading = [{ id: '42', labels: { comm: 'bash' }, value: 10 }];
  const c = counter({ name: 'c_total', help: '', labelNames: ['comm'], observe: () => reading });
  t.deepEqual(c.collect().map((s) => [s.labels.comm, s.value]), [['bash', 10]]);
  reading = [{ id: '42', labels: { comm: 'ls' }, value: 15 }];
  t.deepEqual(c.collect().map((s) => [s.labels.comm, s.value]), [['bash', 10], ['ls', 5]]);
});

test('the latency tools keep every bucket and a sum: totals() survives histogram({ reset }), exposed as seconds', (t) => {
  const file = join(tmpdir(), `aya-node-metrics-bio-${process.pid}`);
  t.teardown(() => rmSync(file, { force: true }));
  using bio = Biolatency.open();
  execFileSync('dd', ['if=/dev/zero', `of=${file}`, 'bs=4096', 'count=50', 'oflag=direct'], { stdio: 'ignore' });
  const hist = bio.histogram({ reset: true });
  // Each O_DIRECT write is a block request; a few may be merged or still in flight.
  t.true(hist.total >= 40, `direct writes timed (${hist.total})`);
  t.true(hist.sum !== undefined && hist.sum > 0, `the histogram has a sum (${hist.sum} us)`);
  execFileSync('dd', ['if=/dev/zero', `of=${file}`, 'bs=4096', 'count=50', 'oflag=direct'], { stdio: 'ignore' });
  const totals = bio.totals();
  t.is(totals.counts.length, 64, 'all 64 buckets');
  t.true(totals.count >= hist.total + 40, `totals() kept what the reset cleared (${hist.total} + new = ${totals.count})`);
  t.true(totals.sumNs >= hist.sum! * 1000);
  const metric = latencyMetric(bio, 'bio_seconds', 'block I/O');
  const [s] = (metric as Extract<Metric, { type: 'histogram' }>).collect();
  // The machine's other I/O may add requests between the two reads.
  t.true(s.count >= totals.count, `${s.count} >= ${totals.count}`);
  t.is(s.buckets.length, 63);
  t.true(s.buckets.every((b, i) => i === 0 || b >= s.buckets[i - 1]) && s.buckets[62] <= s.count, 'cumulative up to +Inf');
  t.true(s.sum >= totals.sumNs / 1e9 - 1e-9);
  // The mean from _sum/_count lies inside the buckets the samples are in.
  const mean = s.sum / s.count;
  const firstNonEmpty = s.buckets.findIndex((b) => b > 0);
  t.true(mean >= (firstNonEmpty === 0 ? 0 : log2Bounds(63, 1e-6)[firstNonEmpty - 1]), `mean ${mean}`);

  using rq = Runqlat.open();
  t.true(rq.totals().counts.length === 64);
});

test('ring tools count what a full ring dropped; droppedEventsMetric exposes it per stream', async (t) => {
  using snoop = Execsnoop.open();
  const { path, cleanup } = uniqueTrue();
  t.teardown(cleanup);
  // Nobody reads the 1 MiB ring: about 200 execs of ~3 KiB events fill it, the rest are dropped.
  for (let i = 0; i < 400; i++) execFileSync(path);
  const drops = snoop.drops();
  t.true(drops > 0n, `events dropped by the full ring (${drops})`);
  const metric = droppedEventsMetric({ execsnoop: snoop, perf: { lost: 3 } });
  t.deepEqual(metric.collect(), [
    { labels: { stream: 'execsnoop' }, value: Number(drops) },
    { labels: { stream: 'perf' }, value: 3 },
  ]);
});

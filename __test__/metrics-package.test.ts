// aya-node/metrics as users get it: `npm pack`, installed into fresh projects outside the source
// tree. With prom-client and OpenTelemetry installed next to it, every example of
// docs/metrics.md runs as .mjs and as .cjs (the OpenTelemetry one checks what an in-memory
// exporter of @opentelemetry/sdk-metrics received); without them, aya-node and its exporter
// still work, and registerPromClient says what is missing. `npx aya-node exporter` is run from
// the installed package and its output passes promtool.

import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { npm, sh, within } from './helpers';

const repo = resolve(__dirname, '..');
const work = realpathSync(mkdtempSync(join(tmpdir(), 'aya-node-metrics-pkg-')));
const withPeers = join(work, 'with-peers');
const bare = join(work, 'bare');


/** The devDependency versions of the peers, so the consumer gets what the repository tests with. */
const dev = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).devDependencies as Record<string, string>;

test.before(() => {
  const [packed] = JSON.parse(npm(['pack', '--json', '--pack-destination', work], repo)) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const tarball = join(work, packed.filename);
  for (const dir of [withPeers, bare]) {
    mkdirSync(dir);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
    npm(['install', '--offline', tarball], dir);
  }
  const peers = ['prom-client', '@opentelemetry/api', '@opentelemetry/sdk-metrics'].map((p) => `${p}@${dev[p]}`);
  npm(['install', '--prefer-offline', ...peers], withPeers);
});

test.after.always(() => rmSync(work, { recursive: true, force: true }));

/** The ```js example blocks of docs/metrics.md (run here with the peers installed, whatever their docs-test mode). */
function examples(): string[] {
  const lines = readFileSync(join(repo, 'docs', 'metrics.md'), 'utf8').split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^```js\s+example(\s+(cjs|clone))?\s*$/.test(lines[i])) continue;
    let end = i + 1;
    while (!/^```\s*$/.test(lines[end])) end++;
    out.push(lines.slice(i + 1, end).join('\n') + '\n');
    i = end;
  }
  return out;
}

/** The same program as CommonJS: imports become requires, the body an async function. */
function toCommonJs(esm: string): string {
  const requires: string[] = [];
  const body = esm.replace(/^import \{([^}]+)\} from '([^']+)';\n/gm, (_m, names: string, from: string) => {
    requires.push(`const {${names}} = require('${from}');`);
    return '';
  });
  if (/^import /m.test(body)) throw new Error(`an import form toCommonJs does not handle:\n${body}`);
  return `${requires.join('\n')}\n(async () => {\n${body}})().catch((err) => { console.error(err); process.exit(1); });\n`;
}

const docsExamples = examples();

test('docs/metrics.md has the examples this test runs', (t) => {
  t.true(docsExamples.length >= 4, `${docsExamples.length} examples`);
  t.true(docsExamples.some((e) => e.includes("from 'prom-client'")));
  t.true(docsExamples.some((e) => e.includes("from '@opentelemetry/sdk-metrics'")));
});

docsExamples.forEach((code, i) => {
  for (const ext of ['mjs', 'cjs'] as const) {
    test.serial(`docs/metrics.md example ${i + 1} runs from the installed package as .${ext}`, (t) => {
      const file = join(withPeers, `example-${i + 1}.${ext}`);
      writeFileSync(file, ext === 'mjs' ? code : toCommonJs(code));
      const run = spawnSync(process.execPath, [file], { cwd: withPeers, encoding: 'utf8', timeout: 60_000 });
      t.is(run.status, 0, `${run.stdout}\n${run.stderr}`);
      t.is(run.stderr.replace(/^.*ExperimentalWarning.*\n?/gm, ''), '');
      t.log(run.stdout.trim());
      // The examples print the counts they read, and throw when they are missing.
      t.regex(run.stdout, /aya_syscalls|app_syscalls_total/);
    });
  }
});

test('OpenTelemetry through an in-memory exporter: histograms as exact bucket/sum/count counters, gauges, monotonic counters', (t) => {
  writeFileSync(
    join(withPeers, 'otel.mjs'),
    `import { execFileSync } from 'node:child_process';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { Runqlat, Syscount } from 'aya-node';
import { EventHistogram, gauge, latencyMetric, observeOpenTelemetry, syscountMetrics } from 'aya-node/metrics';
const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60000 });
const provider = new MeterProvider({ readers: [reader] });
const sizes = new EventHistogram({ name: 'sizes_bytes', help: 'sizes', labelNames: ['kind'], bounds: [10, 100] });
for (const v of [5, 50, 500, 10]) sizes.observe({ kind: 'a' }, v);
const sc = Syscount.open({ pid: process.pid });
const rq = Runqlat.open();
observeOpenTelemetry(provider.getMeter('t'), [sizes, latencyMetric(rq, 'runq_seconds', 'runq'), ...syscountMetrics(sc),
  gauge({ name: 'answer', help: 'a gauge', observe: () => [{ labels: {}, value: 42 }] })]);
const collect = async () => {
  exporter.reset();
  await reader.forceFlush();
  const out = {};
  for (const m of exporter.getMetrics().flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics))) {
    out[m.descriptor.name] = { type: m.dataPointType, monotonic: m.isMonotonic, points: m.dataPoints.map((p) => ({ attributes: p.attributes, value: p.value })) };
  }
  return out;
};
for (let i = 0; i < 50; i++) void process.ppid;
// Three busy shells on this machine's two CPUs: run-queue waits for runqlat, on an idle machine too.
execFileSync('/bin/sh', ['-c', 'for i in 1 2 3; do (i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done) & done; wait']);
const first = await collect();
for (let i = 0; i < 50; i++) void process.ppid;
await new Promise((r) => setTimeout(r, 300));
const second = await collect();
sc.close(); rq.close(); await provider.shutdown();
console.log(JSON.stringify({ first, second }));
`,
  );
  const { first, second } = JSON.parse(sh('node', ['otel.mjs'], { cwd: withPeers, timeout: 60_000 }).trim().split('\n').pop()!);
  const value = (m: any, attrs: Record<string, string>) => m.points.find((p: any) => Object.entries(attrs).every(([k, v]) => p.attributes[k] === v))?.value;
  const b = first.sizes_bytes_bucket;
  t.true(b.monotonic, 'buckets are a monotonic (counter) instrument');
  t.deepEqual(['10', '100', '+Inf'].map((le) => value(b, { kind: 'a', le })), [2, 3, 4], 'cumulative per bound, the bound itself included');
  t.is(value(first.sizes_bytes_count, { kind: 'a' }), 4);
  t.is(value(first.sizes_bytes_sum, { kind: 'a' }), 565);
  t.is(value(first.answer, {}), 42);
  t.not(first.answer.type, b.type, 'a gauge is a gauge, not a sum');
  t.not(first.answer.monotonic, true);
  t.is(first.runq_seconds_bucket.points.length, 64, 'every bound of the log2 histogram, and +Inf');
  t.is(value(first.runq_seconds_bucket, { le: '+Inf' }), value(first.runq_seconds_count, {}));
  t.true(value(first.runq_seconds_sum, {}) > 0);
  const before = value(first.aya_syscalls, { syscall: 'getppid' });
  const after = value(second.aya_syscalls, { syscall: 'getppid' });
  t.true(before >= 50 && after >= before + 50, `the counter grew between collections (${before} -> ${after})`);
  t.true(value(second.runq_seconds_count, {}) >= value(first.runq_seconds_count, {}));
});

test('prom-client: one registry with the user\'s own metrics and aya-node\'s, in both formats, passes promtool', (t) => {
  writeFileSync(
    join(withPeers, 'prom.cjs'),
    `const { Registry, Counter } = require('prom-client');
const { Runqlat } = require('aya-node');
const { EventHistogram, latencyMetric, registerPromClient } = require('aya-node/metrics');
(async () => {
  const registry = new Registry();
  new Counter({ name: 'app_requests_total', help: 'the app', registers: [registry] }).inc(3);
  const rq = Runqlat.open();
  const sizes = new EventHistogram({ name: 'sizes_bytes', help: 'sizes', bounds: [10, 100] });
  sizes.observe({}, 5);
  registerPromClient(registry, [latencyMetric(rq, 'runq_seconds', 'runq'), sizes]);
  const text = await registry.metrics();
  registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  const om = await registry.metrics();
  rq.close();
  console.log(JSON.stringify({ text, om }));
})().catch((err) => { console.error(err); process.exit(1); });
`,
  );
  const { text, om } = JSON.parse(sh('node', ['prom.cjs'], { cwd: withPeers, timeout: 60_000 }).trim().split('\n').pop()!);
  const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  t.is(check.status, 0, check.stdout + check.stderr);
  t.regex(text, /^app_requests_total 3$/m);
  t.is(text.match(/^runq_seconds_bucket\{/gm)?.length, 64);
  t.regex(text, /^sizes_bytes_bucket\{le="10"\} 1$/m);
  t.regex(text, /^sizes_bytes_sum 5$/m);
  t.regex(om, /^# TYPE runq_seconds histogram$/m);
  t.true(om.endsWith('# EOF\n'));
});

test('TypeScript: the docs examples type-check against the installed declarations of aya-node/metrics', (t) => {
  npm(['install', '--prefer-offline', '--save-dev', `typescript@${dev.typescript}`, `@types/node@${dev['@types/node']}`], withPeers);
  const dir = join(withPeers, 'ts');
  mkdirSync(dir, { recursive: true });
  docsExamples.forEach((code, i) => writeFileSync(join(dir, `example-${i + 1}.mts`), code));
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'nodenext', moduleResolution: 'nodenext', lib: ['ES2022', 'esnext.disposable'], types: ['node'], strict: true, noEmit: true },
      include: ['*.mts'],
    }),
  );
  // skipLibCheck is off: the published .d.ts files themselves are checked too.
  const tsc = spawnSync(process.execPath, [join(withPeers, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { encoding: 'utf8' });
  t.is(tsc.status, 0, tsc.stdout + tsc.stderr);
});

test('the subpath resolves inside the installed package: ESM and CommonJS share one instance', (t) => {
  writeFileSync(
    join(withPeers, 'resolve.mjs'),
    `import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as esm from 'aya-node/metrics';
const cjs = createRequire(import.meta.url)('aya-node/metrics');
console.log(JSON.stringify({ esm: fileURLToPath(import.meta.resolve('aya-node/metrics')), cjs: createRequire(import.meta.url).resolve('aya-node/metrics'),
  same: cjs.mapCounter === esm.mapCounter, esmKeys: Object.keys(esm).sort(), cjsKeys: Object.keys(cjs).sort() }));
`,
  );
  const out = JSON.parse(sh('node', ['resolve.mjs'], { cwd: withPeers }));
  const installed = join(withPeers, 'node_modules', 'aya-node');
  t.is(out.esm, join(installed, 'dist', 'metrics', 'index.mjs'));
  t.is(out.cjs, join(installed, 'dist', 'metrics', 'index.js'));
  t.true(out.same);
  t.deepEqual(out.esmKeys, out.cjsKeys);
});

test('without the optional peers: aya-node/metrics loads, render() works, registerPromClient names what is missing', (t) => {
  writeFileSync(
    join(bare, 'bare.cjs'),
    `const { counter, render, registerPromClient } = require('aya-node/metrics');
const c = counter({ name: 'x_total', help: 'x', observe: () => [{ labels: {}, value: 1n }] });
process.stdout.write(render([c]));
try { registerPromClient(undefined, [c]); } catch (err) { console.log('error:', err.message); }
`,
  );
  const out = sh('node', ['bare.cjs'], { cwd: bare });
  t.regex(out, /^x_total 1$/m);
  t.regex(out, /error: registerPromClient needs the prom-client package \(npm install prom-client\)/);
  const lock = JSON.parse(readFileSync(join(bare, 'package-lock.json'), 'utf8'));
  t.false(Object.keys(lock.packages).some((p) => /prom-client|@opentelemetry/.test(p)), 'the peers were not installed with aya-node');
});

// npx does not pass a SIGTERM sent to it on to the command (the image runs `aya-node` itself, and
// metrics-exporter.test.ts sends SIGTERM to it): here Ctrl-C goes to the whole process group, as a terminal sends it.
test('npx aya-node exporter from the installed package serves metrics promtool accepts and stops on Ctrl-C', async (t) => {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  const child = spawn('npx', ['--no-install', 'aya-node', 'exporter', '--host', '127.0.0.1', '--port', String(port), '--tools', 'syscount,runqlat,execsnoop'], {
    cwd: bare,
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true, // its own process group, like a terminal's foreground job
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  // 'close', not 'exit': npm can exit before the last of the exporter's stderr reached us (seen
  // once under full-suite load); 'close' comes when every holder of the pipe, the exporter too, is gone.
  const exited = new Promise<void>((r) => child.once('close', () => r()));
  const group = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // already gone
    }
  };
  t.teardown(() => group('SIGKILL'));
  const body = await within(60_000, 'the exporter', (async () => {
    for (;;) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/metrics`);
        if (res.ok) return await res.text();
      } catch {
        // not yet listening
      }
      if (child.exitCode !== null) throw new Error(`the exporter exited: ${stderr}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  })());
  const check = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8' });
  t.is(check.status, 0, check.stdout + check.stderr);
  t.regex(body, /^aya_syscalls_total\{syscall="[a-z0-9_]+"\} \d+$/m);
  t.regex(body, /^aya_runqlat_seconds_bucket\{le="\+Inf"\} \d+$/m);
  t.regex(stderr, new RegExp(`serving syscount, runqlat, execsnoop on http://127.0.0.1:${port}/metrics`));
  group('SIGINT');
  // npm ends by the signal itself; the exporter's own clean stop shows in what it printed.
  await within(15_000, 'the exporter to stop', exited);
  t.regex(stderr, /stopped, programs detached/);
  t.false(spawnSync('pgrep', ['-f', `aya-node exporter --host 127.0.0.1 --port ${port}`]).status === 0, 'no exporter left running');
});

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

/** The ```ts example blocks of docs/metrics.md. */
function examples(): string[] {
  const lines = readFileSync(join(repo, 'docs', 'metrics.md'), 'utf8').split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^```ts\s+example\s*$/.test(lines[i])) continue;
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
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
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

// A user's first install: `npm pack` the built package, install the tarball into an empty
// project outside the source tree, and use it from there the three ways users do (ESM, CommonJS,
// TypeScript). Needs the build (`npm run build`), which `npm test` runs first.

import test from 'ava';
import { mkdtempSync, readdirSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { npm, sh } from './helpers';

const repo = resolve(__dirname, '..');

interface PackResult {
  filename: string;
  files: Array<{ path: string; size: number }>;
}

// One tarball and one consumer project for all tests in this file.
const work = realpathSync(mkdtempSync(join(tmpdir(), 'aya-node-install-')));
const consumer = join(work, 'consumer');
let packed: PackResult;

test.before(() => {
  packed = (JSON.parse(npm(['pack', '--json', '--pack-destination', work], repo)) as PackResult[])[0];
  sh('mkdir', ['-p', consumer]);
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  // aya-node has no dependencies, so it installs offline; typescript and @types/node (for the
  // type check only) come from the npm cache or the registry.
  npm(['install', '--offline', join(work, packed.filename)], consumer);
  npm(['install', '--prefer-offline', '--save-dev', 'typescript@5', '@types/node@20'], consumer);
});

test.after.always(() => rmSync(work, { recursive: true, force: true }));

test('the tarball holds what users need and no build leftovers', (t) => {
  const paths = packed.files.map((f) => f.path);
  for (const needed of [
    'package.json',
    'LICENSE',
    'README.md',
    'index.js',
    'index.d.ts',
    'dist/index.js',
    'dist/index.d.ts',
    'dist/index.mjs',
    'dist/index.d.mts',
    'dist/cli.js',
    // Every tool's object (ebpf/tools/src/bin/), and no test fixture (ebpf/programs/src/bin/).
    ...readdirSync(join(repo, 'ebpf', 'tools', 'src', 'bin')).map((f) => `ebpf/objects/tools/${f.replace(/\.rs$/, '.bpf.o')}`),
  ]) {
    t.true(paths.includes(needed), `${needed} is in the tarball`);
  }
  t.true(
    paths.some((p) => new RegExp(`^aya-node\\.linux-${process.arch}-(gnu|musl)\\.node$`).test(p)),
    `the native module for linux-${process.arch} is in the tarball`,
  );
  const leftovers = paths.filter(
    (p) =>
      /^(target|crates|src|__test__|scripts|node_modules|npm|artifacts|docs|\.github|\.ci)\//.test(p) ||
      /^ebpf\/(?!objects\/tools\/)/.test(p) ||
      /\.(tsbuildinfo|map|tgz|rs|toml|lock)$/.test(p) ||
      /(^|\/)\.tsbuildinfo$/.test(p) ||
      /(^|\/)tsconfig\.json$/.test(p),
  );
  t.deepEqual(leftovers, []);
});

/**
 * A script for the consumer project: opens the bundled execsnoop, runs `true-<its pid>` (a
 * link to /bin/true that `load` creates) and prints as JSON the event it saw and where the
 * package resolved from.
 */
function execsnoopScript(load: string, resolvePackage: string): string {
  return `${load}
const { Execsnoop, EbpfError, bundledObjectPath } = aya;
const target = join(process.cwd(), 'true-' + process.pid);
const snoop = Execsnoop.open();
const timer = setTimeout(() => { console.error('no event within 10 s'); process.exit(2); }, 10000);
try {
  const seen = (async () => {
    for await (const ev of snoop) if (ev.filename === target) return ev;
  })();
  const child = spawn(target, [], { stdio: 'ignore' });
  const ev = await seen;
  console.log(JSON.stringify({
    childPid: child.pid, pid: ev.pid, ppid: ev.ppid, filename: ev.filename,
    resolved: ${resolvePackage}, object: bundledObjectPath('execsnoop'),
    errorClass: typeof EbpfError === 'function' && new EbpfError('KERNEL', 'x') instanceof Error,
  }));
} finally {
  clearTimeout(timer);
  snoop.close();
}
`;
}

interface ScriptResult {
  childPid: number;
  pid: number;
  ppid: number;
  filename: string;
  resolved: string;
  object: string;
  errorClass: boolean;
}

function runConsumerScript(t: import('ava').ExecutionContext, file: string, source: string): ScriptResult {
  writeFileSync(join(consumer, file), source);
  const out = sh('node', [file], { cwd: consumer, timeout: 30_000 });
  const result = JSON.parse(out.trim().split('\n').pop()!) as ScriptResult;
  t.log(`${file}: ${JSON.stringify(result)}`);
  return result;
}

function assertInstalledUse(t: import('ava').ExecutionContext, result: ScriptResult): void {
  const installed = join(consumer, 'node_modules', 'aya-node');
  t.is(result.pid, result.childPid, 'the event is the exec of the spawned child');
  t.true(result.ppid > 0);
  t.true(result.resolved.startsWith(installed + '/'), `resolved from the installed package (${result.resolved})`);
  t.is(result.object, join(installed, 'ebpf', 'objects', 'tools', 'execsnoop.bpf.o'));
  t.false(result.resolved.startsWith(repo + '/'), 'not from the source tree');
  t.true(result.errorClass);
}

const makeTarget = `import { symlinkSync } from 'node:fs';
symlinkSync('/bin/true', join(process.cwd(), 'true-' + process.pid));`;

test.serial('ESM: import from the installed package sees an exec event', (t) => {
  const result = runConsumerScript(
    t,
    'use.mjs',
    execsnoopScript(
      `import { spawn } from 'node:child_process';
import { join } from 'node:path';
import * as aya from 'aya-node';
import { fileURLToPath } from 'node:url';
${makeTarget}`,
      `fileURLToPath(import.meta.resolve('aya-node'))`,
    ),
  );
  assertInstalledUse(t, result);
  t.regex(result.resolved, /\/dist\/index\.mjs$/, 'the import condition picks the ESM entry');
});

test.serial('CommonJS: require of the installed package sees an exec event', (t) => {
  const result = runConsumerScript(
    t,
    'use.cjs',
    `const { spawn } = require('node:child_process');
const { join } = require('node:path');
const { symlinkSync } = require('node:fs');
symlinkSync('/bin/true', join(process.cwd(), 'true-' + process.pid));
const aya = require('aya-node');
(async () => {
${execsnoopScript('', `require.resolve('aya-node')`)}
})().catch((err) => { console.error(err); process.exit(1); });
`,
  );
  assertInstalledUse(t, result);
  t.regex(result.resolved, /\/dist\/index\.js$/, 'the require condition picks the CommonJS entry');
});

test('import and require share one instance of the package', (t) => {
  writeFileSync(
    join(consumer, 'same.mjs'),
    `import { createRequire } from 'node:module';
import { EbpfError, codec } from 'aya-node';
const cjs = createRequire(import.meta.url)('aya-node');
console.log(JSON.stringify({ sameClass: cjs.EbpfError === EbpfError, sameCodec: cjs.codec === codec,
  esmKeys: Object.keys(await import('aya-node')).sort(), cjsKeys: Object.keys(cjs).sort() }));
`,
  );
  const out = JSON.parse(sh('node', ['same.mjs'], { cwd: consumer })) as {
    sameClass: boolean;
    sameCodec: boolean;
    esmKeys: string[];
    cjsKeys: string[];
  };
  t.true(out.sameClass);
  t.true(out.sameCodec);
  t.deepEqual(out.esmKeys, out.cjsKeys, 'the ESM entry exports every name the CommonJS one does');
});

test('the published layout: a root package without the module loads it from the per-platform package', (t) => {
  // What release.yml does: `napi create-npm-dirs` writes npm/<platform>/package.json, the module
  // moves there and the root package ships without it. Here for this machine's platform only.
  const module = packed.files.map((f) => f.path).find((p) => /^aya-node\.linux-.*\.node$/.test(p))!;
  const platform = module.replace(/^aya-node\.|\.node$/g, '');
  const stage = join(work, 'stage');
  sh('mkdir', ['-p', stage]);
  sh('tar', ['-xzf', join(work, packed.filename), '-C', stage]);
  const root = join(stage, 'package');
  sh(join(repo, 'node_modules', '.bin', 'napi'), ['create-npm-dirs'], { cwd: root });
  renameSync(join(root, module), join(root, 'npm', platform, module));
  const rootTarball = (JSON.parse(npm(['pack', '--json', '--pack-destination', stage], root)) as PackResult[])[0];
  t.false(rootTarball.files.some((f) => f.path.endsWith('.node')), 'the root package has no native module');
  const platformDir = join(root, 'npm', platform);
  const platformTarball = (JSON.parse(npm(['pack', '--json', '--pack-destination', stage], platformDir)) as PackResult[])[0];
  t.deepEqual(platformTarball.files.map((f) => f.path).sort(), [module, 'README.md', 'package.json'].sort());

  const project = join(stage, 'project');
  sh('mkdir', ['-p', project]);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'published', version: '1.0.0', private: true }));
  npm(['install', '--offline', join(stage, rootTarball.filename), join(stage, platformTarball.filename)], project);
  const out = sh(
    'node',
    ['-e', `const a = require('aya-node'); const o = a.Ebpf.load(a.bundledObjectPath('execsnoop'));
console.log(JSON.stringify({ programs: o.programs, module: require.resolve('aya-node-${platform}') })); o.close();`],
    { cwd: project },
  );
  const result = JSON.parse(out) as { programs: Array<{ name: string }>; module: string };
  t.deepEqual(result.programs.map((p) => p.name).sort(), ['execsnoop_enter', 'execsnoop_exit']);
  t.is(result.module, join(project, 'node_modules', `aya-node-${platform}`, module));
});

test('the bin runs from the installed package', (t) => {
  const help = sh(join(consumer, 'node_modules', '.bin', 'aya-node'), ['--help'], { cwd: consumer });
  t.regex(help, /execsnoop/);
});

test('TypeScript accepts the declarations through both the import and the require condition', (t) => {
  writeFileSync(
    join(consumer, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'nodenext',
        moduleResolution: 'nodenext',
        lib: ['ES2022', 'esnext.disposable'],
        types: ['node'],
        strict: true,
        noEmit: true,
      },
      include: ['typed.mts', 'typed.cts'],
    }),
  );
  const body = `
const ExecLike = codec.struct({ pid: codec.u32, comm: codec.cstring(16) });
type ExecLike = Infer<typeof ExecLike>;
export async function first(path: string): Promise<ExecLike | undefined> {
  using obj = Ebpf.load(path);
  const link: Link = obj.program('execsnoop', TracePoint).attach('syscalls', 'sys_enter_execve');
  void link.detach;
  for await (const ev of obj.ringBuf('EVENTS', ExecLike)) return ev;
}
export function describe(err: unknown): string {
  return err instanceof EbpfError ? \`\${err.code} \${err.errnoName ?? ''}\` : String(err);
}
// @ts-expect-error: pid is a number, the declarations are not \`any\`
export const wrong: string = ExecLike.decode(Buffer.alloc(20)).pid;
`;
  writeFileSync(
    join(consumer, 'typed.mts'),
    `import { Ebpf, EbpfError, Link, TracePoint, codec, type Infer } from 'aya-node';\n${body}`,
  );
  writeFileSync(
    join(consumer, 'typed.cts'),
    `import { Ebpf, EbpfError, Link, TracePoint, codec, type Infer } from 'aya-node';\n${body}`,
  );
  const tsc = join(consumer, 'node_modules', 'typescript', 'bin', 'tsc');
  t.notThrows(() => sh('node', [tsc, '-p', 'tsconfig.json'], { cwd: consumer }));
  // And a real type error is reported (the check is not vacuous).
  writeFileSync(join(consumer, 'typed.mts'), `import { Ebpf } from 'aya-node';\nEbpf.load(42);\n`);
  const error = t.throws(() => sh('node', [tsc, '-p', 'tsconfig.json'], { cwd: consumer }));
  t.regex(error?.message ?? '', /typed\.mts.*TS2345/s);
});

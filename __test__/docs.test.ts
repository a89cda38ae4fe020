// The examples in docs/*.md are programs: every block fenced as ```js example is extracted,
// type-checked (checkJs) and run with plain `node` (no tsx), as root against the real kernel,
// and must end by itself with exit code 0. They run the way a user runs them:
// - ```js example: as a .mjs file in a fresh `npm init -y` project (which says
//   "type": "commonjs") that installed the packed tarball;
// - ```js example cjs: the same, as a .cjs file;
// - ```js example clone: as a .mjs file at the root of the clone, where 'aya-node' resolves to
//   the package itself and the test objects the package does not ship exist.

import test from 'ava';
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { rustChecks } from '../src/project/toolchain';
import { requirementsUnmet } from '../src/testing';

const repo = resolve(__dirname, '..');
const docs = join(repo, 'docs');
const work = join(repo, '.docs-examples');

type Where = 'project' | 'clone';

interface Example {
  page: string;
  line: number;
  file: string;
  where: Where;
  code: string;
}

/** The ```js example blocks of a markdown page, with the line each starts on. */
function extract(page: string): Example[] {
  const lines = readFileSync(join(docs, page), 'utf8').split('\n');
  const out: Example[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = /^```(\w+)\s+example(?:\s+(cjs|clone))?\s*$/.exec(lines[i]);
    if (!fence) continue;
    if (fence[1] !== 'js') throw new Error(`${page}:${i + 1}: examples are plain JavaScript (\`\`\`js example), not ${fence[1]}`);
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^```\s*$/.test(lines[end])) end++;
    if (end === lines.length) throw new Error(`${page}:${i + 1}: unterminated example`);
    const n = out.length + 1;
    const ext = fence[2] === 'cjs' ? 'cjs' : 'mjs';
    const where: Where = fence[2] === 'clone' ? 'clone' : 'project';
    out.push({ page, line: i + 1, file: `${page.replace(/\.md$/, '')}-${n}.${ext}`, where, code: lines.slice(start, end).join('\n') + '\n' });
    i = end;
  }
  return out;
}

const pages = readdirSync(docs).filter((f) => f.endsWith('.md')).sort();
const examples = pages.flatMap(extract);

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
for (const ex of examples) writeFileSync(join(work, ex.file), ex.code);
writeFileSync(
  join(work, 'tsconfig.json'),
  JSON.stringify({
    compilerOptions: {
      target: 'ES2022',
      module: 'nodenext',
      moduleResolution: 'nodenext',
      lib: ['ES2022', 'esnext.disposable'],
      types: ['node'],
      allowJs: true,
      checkJs: true,
      strict: true,
      noEmit: true,
      skipLibCheck: true,
    },
    include: ['*.mjs', '*.cjs'],
  }),
);

const run = promisify(execFile);

/** A user's project: `npm init -y`, then the packed tarball installed into it. */
const project = realpathSync(mkdtempSync(join(tmpdir(), 'aya-node-docs-')));

test.before(() => {
  const npm = (args: string[], cwd: string) =>
    execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, encoding: 'utf8', stdio: 'pipe' });
  const [{ filename }] = JSON.parse(npm(['pack', '--json', '--pack-destination', project], repo)) as Array<{ filename: string }>;
  npm(['init', '-y'], project);
  npm(['install', '--offline', join(project, filename)], project);
  for (const ex of examples) if (ex.where === 'project') writeFileSync(join(project, ex.file), ex.code);
});

test.after.always(() => {
  rmSync(work, { recursive: true, force: true });
  rmSync(project, { recursive: true, force: true });
});

test('every docs page of an area exists and has runnable examples', (t) => {
  for (const area of ['getting-started', 'programs', 'maps', 'streams', 'testing', 'tools', 'metrics', 'own-program']) {
    t.true(pages.includes(`${area}.md`), `docs/${area}.md exists`);
  }
  t.true(examples.length >= pages.length, `${examples.length} examples in ${pages.length} pages`);
  t.true(examples.some((ex) => ex.file.endsWith('.cjs')), 'a CommonJS example too');
  for (const ex of examples) {
    t.regex(ex.code, /'aya-node(\/package\.json|\/testing|\/metrics)?'/, `${ex.page}:${ex.line} uses the package by name, as users do`);
    t.notRegex(ex.code, /from '\.{1,2}\//, `${ex.page}:${ex.line} imports nothing from the source tree`);
    t.notRegex(ex.code, /^\s*(await\s+)?using\s/m, `${ex.page}:${ex.line}: \`using\` is not JavaScript on Node.js 20/22`);
  }
});

test('the fresh project is what `npm init -y` makes: CommonJS by default', (t) => {
  const pkg = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')) as { type?: string };
  t.not(pkg.type, 'module', 'examples must not rely on "type": "module"');
});

test('the examples type-check against the published declarations', async (t) => {
  const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = await run(process.execPath, [tsc, '-p', join(work, 'tsconfig.json')], { cwd: work }).then(
    () => '',
    (err: { stdout?: string; message: string }) => err.stdout || err.message,
  );
  t.is(result, '', 'tsc reports no errors');
});

for (const ex of examples) {
  // One at a time: the machine may be busy with other test files.
  test.serial(`${ex.page}:${ex.line} runs to completion as ${ex.where === 'clone' ? 'a file in the clone' : `${ex.file.slice(-4)} in a fresh project`}`, async (t) => {
    const cwd = ex.where === 'clone' ? repo : project;
    const file = ex.where === 'clone' ? join(work, ex.file) : join(project, ex.file);
    const { stdout, stderr } = await run(process.execPath, [file], { cwd, timeout: 30_000, killSignal: 'SIGKILL' }).catch(
      (err: { stdout?: string; stderr?: string; killed?: boolean; code?: number; message: string }) => {
        throw new Error(
          `${ex.page}:${ex.line} ${err.killed ? 'did not end within 30 s' : `failed (exit ${err.code})`}\n` + `${err.stdout ?? ''}\n${err.stderr ?? ''}`,
        );
      },
    );
    if (stdout.trim()) t.log(stdout.trim());
    t.is(stderr.replace(/^.*ExperimentalWarning.*\n?/gm, '').trim(), '', 'nothing on stderr');
  });
}

// docs/own-program.md: its ```ts project:<file> blocks are files of a project made by
// `aya-node new hello`, built with `aya-node build` (the Rust toolchain), type-checked and run.
const projectBlocks = (() => {
  const lines = readFileSync(join(docs, 'own-program.md'), 'utf8').split('\n');
  const out: Array<{ file: string; code: string }> = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^```ts\s+project:(\S+)\s*$/.exec(lines[i]);
    if (!m) continue;
    let end = i + 1;
    while (end < lines.length && !/^```\s*$/.test(lines[end])) end++;
    out.push({ file: m[1], code: lines.slice(i + 1, end).join('\n') + '\n' });
    i = end;
  }
  return out;
})();
const projectUnmet =
  requirementsUnmet({ root: true, programTypes: ['tracepoint'], tracefs: true }) ??
  (rustChecks().toolchain ? undefined : 'the Rust eBPF toolchain is missing (scripts/setup.sh installs it)');

(projectUnmet ? test.serial.skip : test.serial)(`own-program.md: the project example builds and runs${projectUnmet ? ` (skipped: ${projectUnmet})` : ''}`, async (t) => {
  t.timeout(8 * 60_000);
  t.true(projectBlocks.length > 0, 'the page has project blocks');
  const dir = join(mkdtempSync(join(tmpdir(), 'aya-node-docs-')), 'hello');
  t.teardown(() => rmSync(join(dir, '..'), { recursive: true, force: true }));
  const cli = join(repo, 'dist', 'cli.js');
  await run(process.execPath, [cli, 'new', dir]);
  for (const block of projectBlocks) writeFileSync(join(dir, block.file), block.code);
  // The project's dependencies are this package and the repository's own dev tools.
  mkdirSync(join(dir, 'node_modules', '@types'), { recursive: true });
  for (const name of readdirSync(join(repo, 'node_modules'))) {
    if (name === '@types' || name.startsWith('.')) continue;
    symlinkSync(join(repo, 'node_modules', name), join(dir, 'node_modules', name));
  }
  symlinkSync(join(repo, 'node_modules', '@types', 'node'), join(dir, 'node_modules', '@types', 'node'));
  symlinkSync(repo, join(dir, 'node_modules', 'aya-node'));
  // The repository's eBPF target dir has `core` compiled already: the build takes seconds.
  await run(process.execPath, [cli, 'build', '--dir', dir], { env: { ...process.env, CARGO_TARGET_DIR: join(repo, 'target', 'ebpf') } }).catch((err) => {
    throw new Error(`aya-node build failed:\n${err.stdout}\n${err.stderr}`);
  });
  const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
  const checked = await run(process.execPath, [tsc, '-p', dir]).then(() => '', (err: { stdout?: string; message: string }) => err.stdout || err.message);
  t.is(checked, '', 'the project type-checks with the generated module');
  for (const block of projectBlocks) {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', join(dir, block.file)], { cwd: dir, timeout: 60_000, killSignal: 'SIGKILL' });
    t.regex(stdout, /ran as pid \d+ .*Event is 32 bytes/);
    t.log(stdout.trim());
  }
});

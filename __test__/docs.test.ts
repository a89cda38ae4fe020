// The examples in docs/*.md are programs: every block fenced as ```ts example is extracted,
// type-checked and run (as root, against the real kernel), and must end by itself with exit
// code 0. They import 'aya-node' as users do: the files are written inside the package, so the
// name resolves to the package itself through its `exports` map (the built dist/, ESM entry).

import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const repo = resolve(__dirname, '..');
const docs = join(repo, 'docs');
const work = join(repo, '.docs-examples');

interface Example {
  page: string;
  line: number;
  file: string;
  code: string;
}

/** The ```ts example blocks of a markdown page, with the line each starts on. */
function extract(page: string): Example[] {
  const lines = readFileSync(join(docs, page), 'utf8').split('\n');
  const out: Example[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^```ts\s+example\s*$/.test(lines[i])) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^```\s*$/.test(lines[end])) end++;
    if (end === lines.length) throw new Error(`${page}:${i + 1}: unterminated example`);
    const n = out.length + 1;
    out.push({ page, line: i + 1, file: `${page.replace(/\.md$/, '')}-${n}.mts`, code: lines.slice(start, end).join('\n') + '\n' });
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
      strict: true,
      noEmit: true,
      skipLibCheck: true,
    },
    include: ['*.mts'],
  }),
);

const run = promisify(execFile);

test.after.always(() => rmSync(work, { recursive: true, force: true }));

test('every docs page of an area exists and has runnable examples', (t) => {
  for (const area of ['getting-started', 'programs', 'maps', 'streams', 'testing', 'tools', 'metrics']) {
    t.true(pages.includes(`${area}.md`), `docs/${area}.md exists`);
  }
  t.true(examples.length >= pages.length, `${examples.length} examples in ${pages.length} pages`);
  for (const ex of examples) {
    t.regex(ex.code, /'aya-node(\/package\.json|\/metrics)?'/, `${ex.page}:${ex.line} uses the package by name, as users do`);
    t.notRegex(ex.code, /from '\.{1,2}\//, `${ex.page}:${ex.line} imports nothing from the source tree`);
  }
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
  // One at a time: each starts node with tsx, and the machine may be busy with other test files.
  test.serial(`${ex.page}:${ex.line} runs to completion`, async (t) => {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', join(work, ex.file)], {
      cwd: repo,
      timeout: 30_000,
      killSignal: 'SIGKILL',
    }).catch((err: { stdout?: string; stderr?: string; killed?: boolean; code?: number; message: string }) => {
      throw new Error(
        `${ex.page}:${ex.line} ${err.killed ? 'did not end within 30 s' : `failed (exit ${err.code})`}\n` +
          `${err.stdout ?? ''}\n${err.stderr ?? ''}`,
      );
    });
    if (stdout.trim()) t.log(stdout.trim());
    t.is(stderr.replace(/^.*ExperimentalWarning.*\n?/gm, '').trim(), '', 'nothing on stderr');
  });
}

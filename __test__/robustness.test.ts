// Nothing may crash the process: each case runs in a child process, which must exit normally
// (a SIGABRT from a failed allocation or a panic across FFI fails the test) with a typed error.

import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const fixtures = join(__dirname, 'fixtures');
const srcIndex = join(__dirname, '..', 'src');

interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const repo = join(__dirname, '..');

/** Runs node with `args` from the repository (where `--import=tsx` resolves), asynchronously. */
function node(args: string[], timeout: number): Promise<Run> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, args, { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d));
    proc.stderr.on('data', (d: Buffer) => (stderr = (stderr + d).slice(-1 << 20)));
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeout);
    proc.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

/** Runs a TypeScript snippet (importing `aya` from the sources) in a child process. */
async function child(code: string, nodeArgs: string[] = [], timeout = 60_000): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'aya-node-robust-'));
  const file = join(dir, 'case.ts');
  writeFileSync(file, `import * as aya from ${JSON.stringify(srcIndex)};\n${code}\n`);
  try {
    return await node([...nodeArgs, '--import=tsx', file], timeout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function exitedNormally(t: import('ava').ExecutionContext, run: Run): void {
  t.is(run.signal, null, `no signal (stderr: ${run.stderr.slice(-2000)})`);
  t.is(run.status, 0, run.stderr.slice(-2000));
}

/** The last JSON line a child printed. */
const lastJson = <T>(run: Run): T => JSON.parse(run.stdout.trim().split('\n').pop() ?? 'null') as T;

test('an ELF whose .bss-like section declares a huge size is a PARSE error, not an abort', async (t) => {
  const run = await child(`
import { readFileSync } from 'node:fs';
import { sections } from ${JSON.stringify(join(fixtures, 'elf-fuzz.ts'))};
const elf = readFileSync(aya.bundledObjectPath('loader_test'));
const out: string[] = [];
for (const size of [2n ** 40n, 2n ** 62n, 2n ** 64n - 1n, 65n << 20n]) {
  const input = Buffer.from(elf);
  const rodata = sections(elf).find((s) => s.name === '.rodata')!;
  input.writeUInt32LE(8 /* SHT_NOBITS */, rodata.header + 4);
  input.writeBigUInt64LE(size, rodata.header + 32);
  try {
    aya.Ebpf.load(input).close();
    out.push('loaded');
  } catch (err) {
    out.push(err instanceof aya.EbpfError ? err.code + ' ' + err.message : 'untyped ' + String(err));
  }
}
console.log(JSON.stringify(out));
`);
  exitedNormally(t, run);
  const out = lastJson<string[]>(run);
  t.is(out.length, 4);
  for (const line of out) t.regex(line, /^PARSE section `\.rodata` declares \d+ bytes without file data/);
});

test('fuzz: huge section sizes, huge map sizes and flipped bytes load or throw a typed error, never abort', async (t) => {
  t.timeout(5 * 60_000);
  const run = await node(['--import=tsx', join(fixtures, 'elf-fuzz.ts'), '800', String(process.pid)], 280_000);
  const lastCase = run.stderr.trim().split('\n').filter((l) => l.startsWith('CASE')).pop();
  t.is(run.signal, null, `no crash (last case: ${lastCase})`);
  t.is(run.status, 0, run.stderr.slice(-2000));
  const result = lastJson<{ cases: number; loaded: number; typed: number; untyped: string[] }>(run);
  t.log(`${result.cases} mutated objects: ${result.loaded} loaded, ${result.typed} typed errors`);
  t.deepEqual(result.untyped, []);
  t.is(result.loaded + result.typed, result.cases);
});

test('a NUL in a tracepoint or path name is a RangeError, not an abort', async (t) => {
  const run = await child(`
const obj = aya.Ebpf.load(aya.bundledObjectPath('raw_tracepoint'));
const out: string[] = [];
const name = obj.programs[0].name;
for (const call of [
  () => obj.program(name, aya.RawTracePoint).attach('sys_enter\\0'),
  () => obj.program(name, aya.RawTracePoint).attach('sys_\\0enter'),
  () => aya.Ebpf.load('/tmp/x\\0y'),
  () => aya.BpfMap.fromPin('/sys/fs/bpf/a\\0b', aya.HashMap),
  () => aya.unpin('/sys/fs/bpf/\\0'),
]) {
  try {
    call();
    out.push('accepted');
  } catch (err) {
    out.push((err as Error).name);
  }
}
obj.close();
console.log(JSON.stringify(out));
`);
  exitedNormally(t, run);
  t.deepEqual(lastJson(run), ['RangeError', 'RangeError', 'RangeError', 'RangeError', 'RangeError']);
});

test('entries(), keys(), values() and drain() with a huge batchSize read the map, capped by its size', async (t) => {
  const run = await child(`
const { codec } = aya;
const map = aya.HashMap.create({ maxEntries: 64 }, codec.u32, codec.u64);
for (let i = 0; i < 40; i++) map.set(i, BigInt(i));
const big = { batchSize: 2 ** 32 - 1 };
const out = {
  entries: [...map.entries(big)].length,
  keys: [...map.keys(big)].length,
  values: [...map.values(big)].length,
  tooBig: (() => { try { [...map.entries({ batchSize: 2 ** 32 })]; return 'accepted'; } catch (e) { return (e as Error).name; } })(),
  drain: map.drain(big).length,
  after: map.size,
};
const per = aya.PerCpuHashMap.create({ maxEntries: 1 << 12 }, codec.u32, codec.u64);
per.set(1, Array(aya.possibleCpus()).fill(1n));
out.perCpu = [...per.entries({ batchSize: 2 ** 31 })].length;
console.log(JSON.stringify(out));
`);
  exitedNormally(t, run);
  t.deepEqual(lastJson(run), { entries: 40, keys: 40, values: 40, tooBig: 'RangeError', drain: 40, after: 0, perCpu: 1 });
});

test('a program load interrupted by signals (node --cpu-prof, SIGPROF every 50 us) is retried', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'aya-node-prof-'));
  try {
    const run = await child(
      `
const out: string[] = [];
for (let i = 0; i < 3; i++) {
  try {
    const snoop = aya.Execsnoop.open();
    snoop.close();
    out.push('opened');
  } catch (err) {
    out.push(String(err));
  }
}
console.log(JSON.stringify(out));
`,
      ['--cpu-prof', '--cpu-prof-interval', '50', '--cpu-prof-dir', dir],
    );
    exitedNormally(t, run);
    t.deepEqual(lastJson(run), ['opened', 'opened', 'opened']);
    t.true(readdirSync(dir).some((f) => f.endsWith('.cpuprofile')), 'the profiler ran');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every export, static and method called with hostile values throws a typed error, never aborts', async (t) => {
  t.timeout(10 * 60_000);
  const dir = mkdtempSync(join(tmpdir(), 'aya-node-hostile-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'results.jsonl');
  const run = await node(['--import=tsx', join(fixtures, 'hostile-args.ts'), out], 590_000);
  const lastCall = run.stderr.trim().split('\n').filter((l) => l.startsWith('CALL')).pop();
  t.is(run.signal, null, `no crash (last call: ${lastCall})`);
  t.is(run.status, 0, run.stderr.slice(-2000));
  const results = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { call: string; value: string; outcome: string; detail: string });
  t.log(`${results.length} calls`);
  t.true(results.length > 2000, 'the harness reached every class');
  const bad = results.filter((r) => r.outcome !== 'typed').map((r) => `${r.outcome}: ${r.call}(${r.value}) ${r.detail}`);
  t.deepEqual(bad, []);
});

test('nothing blocks the event loop: a FIFO as object or uprobe target, a line of blanks to the trace parser', async (t) => {
  const run = await child(
    `
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const dir = mkdtempSync(join(tmpdir(), 'aya-node-fifo-'));
const fifo = join(dir, 'fifo');
execFileSync('mkfifo', [fifo]);
const out: Record<string, unknown> = {};
const code = (fn: () => unknown) => { try { fn(); return 'accepted'; } catch (e) { return (e as aya.EbpfError).code ?? (e as Error).name; } };
out.load = code(() => aya.Ebpf.load(fifo));
const obj = aya.Ebpf.load(aya.bundledObjectPath('uprobe'));
const name = obj.programs.find((p) => p.kind === 'uprobe')!.name;
out.uprobe = code(() => obj.program(name, aya.UProbe).attach({ target: fifo, symbol: 'main' }));
obj.close();
const started = performance.now();
out.parsed = aya.parseTraceLine(' '.repeat(200_000) + 'x') ?? null;
out.fast = performance.now() - started < 200;
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify(out));
`,
    [],
    20_000,
  );
  exitedNormally(t, run);
  t.deepEqual(lastJson(run), { load: 'INVALID_ARGUMENT', uprobe: 'INVALID_ARGUMENT', parsed: null, fast: true });
});

test('BpfMap.fromPin on a pinned program is WRONG_TYPE, not a map made of its info', async (t) => {
  const run = await child(`
import { rmSync } from 'node:fs';
const path = '/sys/fs/bpf/aya-node-prog-' + process.pid;
const obj = aya.Ebpf.load(aya.bundledObjectPath('loader_test'));
const name = obj.programs.find((p) => p.kind === 'socket_filter')!.name;
obj.program(name).load();
obj.program(name).pin(path);
let out;
try {
  aya.BpfMap.fromPin(path, aya.HashMap, aya.codec.u32, aya.codec.u32);
  out = 'accepted';
} catch (e) {
  out = (e as aya.EbpfError).code + ' ' + (e as Error).message;
} finally {
  rmSync(path, { force: true });
  obj.close();
}
console.log(JSON.stringify(out));
`);
  exitedNormally(t, run);
  t.regex(lastJson<string>(run), /^WRONG_TYPE the pin .* is a program, not a map$/);
});

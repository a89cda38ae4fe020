// Pure logic of the profile outputs: perf-map parsing and replacement, the SVG and speedscope
// writers (checked with independent parsers), demangling, and the USDT argument spec parser.

import test from 'ava';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EbpfError, demangle, flameGraphSvg, foldedStacks, parsePerfMapLine, parseUsdtArg, parseUsdtArgs, PerfMap, speedscopeJson, type WeightedStack } from '../src';
import { checkWidths, parseSvg, validateSpeedscope } from './flamegraph-helpers';

function tempDir(t: import('ava').ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'aya-node-flame-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('perf-map lines of V8 split into name, file, line and column; tier markers go', (t) => {
  t.like(parsePerfMapLine('7f6a24006600 310 JS:*aya16HotLoop /tmp/i16busy.js:1:22'), {
    start: 0x7f6a24006600n,
    end: 0x7f6a24006600n + 0x310n,
    name: 'aya16HotLoop',
    file: '/tmp/i16busy.js',
    line: 1,
    column: 22,
    kind: 'JS',
  });
  t.like(parsePerfMapLine('22a07474abae 35 JS:~ file:///srv/app/x.mjs:10:3'), { name: '(anonymous)', file: 'file:///srv/app/x.mjs', line: 10, column: 3 });
  t.like(parsePerfMapLine('1000 20 LazyCompile:*handle node:internal/http:42'), { name: 'handle', file: 'node:internal/http', line: 42, kind: 'JS' });
  t.like(parsePerfMapLine('18c4000 300 Builtin:DeoptimizationEntry_Eager'), { name: 'DeoptimizationEntry_Eager', kind: 'Builtin', file: undefined });
  t.like(parsePerfMapLine('400000 10 java.lang.String::hashCode'), { name: 'java.lang.String::hashCode', kind: '' });
  t.is(parsePerfMapLine('not a line'), undefined);
  t.is(parsePerfMapLine('1000 0 JS:*empty /x.js:1:1'), undefined, 'zero-sized entries are dropped');
});

test('a perf map is read as it grows, and later lines replace code that moved', (t) => {
  const path = join(tempDir(t), 'perf-1.map');
  writeFileSync(path, '1000 100 JS:*first /a.js:1:1\n2000 100 JS:*second /a.js:2:1\n3000 10');
  const map = new PerfMap(path);
  t.true(map.refresh());
  t.is(map.lookup(0x1050n)?.name, 'first');
  t.is(map.lookup(0x3005n), undefined, 'a partial line waits for its end');
  appendFileSync(path, '0 JS:*third /a.js:3:1\n1080 100 JS:*moved /b.js:9:1\n');
  t.true(map.refresh());
  t.is(map.lookup(0x3005n)?.name, 'third', 'the line completed by the append');
  t.is(map.lookup(0x1050n), undefined, 'the older entry overlapped by newer code is gone');
  t.is(map.lookup(0x10a0n)?.name, 'moved');
  t.is(map.lookup(0x2050n)?.name, 'second');
  t.is(map.size, 3, 'the replaced line is dropped');
  t.false(new PerfMap(join(tempDir(t), 'missing.map')).refresh());
});

const js = (name: string, line: number) => ({ name, kind: 'js' as const, file: '/srv/app.js', line, column: 1 });
const native = (name: string) => ({ name, kind: 'native' as const });
const proc = { name: 'node', kind: 'process' as const };
const sample: WeightedStack[] = [
  { frames: [proc, native('main'), js('handler', 10), js('hotLoop', 3)], weight: 60, pid: 7, comm: 'node' },
  { frames: [proc, native('main'), js('handler', 10), native('uv_fs_read')], weight: 25, pid: 7, comm: 'node' },
  { frames: [proc, native('main'), native('uv_run')], weight: 15, pid: 7, comm: 'node' },
  { frames: [{ name: 'other', kind: 'process' }, native('x<y>&"z\'')], weight: 3, pid: 8, comm: 'other' },
];

test('folded stacks merge identical stacks and label JavaScript with file:line', (t) => {
  const folded = foldedStacks([...sample, sample[0]]);
  t.regex(folded, /^node;main;handler \(\/srv\/app\.js:10:1\);hotLoop \(\/srv\/app\.js:3:1\) 120$/m);
  t.is(folded.trim().split('\n').length, 4);
});

test('the SVG flame graph parses as XML, names its frames and its widths add up', (t) => {
  const path = join(tempDir(t), 'flame.svg');
  writeFileSync(path, flameGraphSvg(sample, { title: 'test <&>', notes: ['a note & more'] }));
  const svg = parseSvg(path);
  t.is(svg.total, 103);
  t.deepEqual(svg.notes, ['a note & more']);
  const hot = svg.frames.find((f) => f.n === 'hotLoop (/srv/app.js:3:1)');
  t.truthy(hot, 'the hot JavaScript function is a frame');
  t.is(hot!.w, 60);
  t.truthy(svg.frames.find((f) => f.n === 'x<y>&"z\''), 'markup characters survive escaping');
  checkWidths(t, svg);
  t.throws(() => flameGraphSvg(sample, { width: 10 }), { instanceOf: RangeError });
});

test('speedscope JSON validates against speedscope\'s schema, one profile per process', (t) => {
  const path = join(tempDir(t), 'profile.speedscope.json');
  writeFileSync(path, speedscopeJson(sample, { unit: 'nanoseconds' }));
  const doc = validateSpeedscope(t, path);
  t.is(doc.profiles.length, 2);
  const [p] = doc.profiles;
  t.is(p.unit, 'nanoseconds');
  t.is(p.endValue, 100);
  t.deepEqual(p.weights, [60, 25, 15]);
  const hot = doc.shared.frames.findIndex((f: { name: string }) => f.name === 'hotLoop');
  t.like(doc.shared.frames[hot], { file: '/srv/app.js', line: 3, col: 1 });
  t.is(p.samples[0].at(-1), hot, 'stacks run from the outermost frame to the innermost');
});

test('C++ and Rust symbols are demangled, other names are left alone', (t) => {
  t.deepEqual(demangle(['_ZN4node5StartEiPPc', '_ZN4core3fmt5write17h0123456789abcdefE', 'main', '_Zbogus', '_RNvCs1234_7mycrate4main']), [
    'node::Start(int, char**)',
    'core::fmt::write',
    'main',
    '_Zbogus',
    'mycrate::main',
  ]);
  t.throws(() => demangle('x' as unknown as string[]), { instanceOf: TypeError });
});

test('USDT argument specs: registers, memory, constants, sizes and signs (x86-64)', (t) => {
  t.deepEqual(parseUsdtArg('-4@%edi'), { kind: 'reg', size: 4, signed: true, value: 0n, register: 'di', regOffset: 112 });
  t.deepEqual(parseUsdtArg('8@-16(%rbp)'), { kind: 'deref', size: 8, signed: false, value: -16n, register: 'bp', regOffset: 32 });
  t.deepEqual(parseUsdtArg('2@(%rax)'), { kind: 'deref', size: 2, signed: false, value: 0n, register: 'ax', regOffset: 80 });
  t.deepEqual(parseUsdtArg('-1@$-5'), { kind: 'const', size: 1, signed: true, value: -5n });
  t.deepEqual(parseUsdtArg('8@0x10(%r12)'), { kind: 'deref', size: 8, signed: false, value: 16n, register: 'r12', regOffset: 24 });
  t.like(parseUsdtArg('4@%r9d'), { register: 'r9', regOffset: 64 });
  t.like(parseUsdtArg('1@%sil'), { register: 'si', regOffset: 104 });
  // Python 3.11's function__entry, as readelf -n prints it.
  t.deepEqual(parseUsdtArgs('8@%rbp 8@%r12 -4@%eax').map((a) => a.register), ['bp', 'r12', 'ax']);
  t.deepEqual(parseUsdtArgs(''), []);
  for (const bad of ['3@%rax', '8@%xmm0', '8@foo(%rip)', '4@(%rax,%rbx,8)', '%rdi', '8@']) {
    t.throws(() => parseUsdtArg(bad), { instanceOf: EbpfError, message: /USDT argument/ }, bad);
  }
  t.throws(() => parseUsdtArgs(Array(13).fill('8@%rax').join(' ')), { message: /at most 12/ });
});

test('USDT argument specs on arm64', (t) => {
  t.deepEqual(parseUsdtArg('-4@x0', 'aarch64'), { kind: 'reg', size: 4, signed: true, value: 0n, register: 'x0', regOffset: 0 });
  t.like(parseUsdtArg('4@w19', 'aarch64'), { kind: 'reg', register: 'x19', regOffset: 152 });
  t.deepEqual(parseUsdtArg('8@[sp, 16]', 'aarch64'), { kind: 'deref', size: 8, signed: false, value: 16n, register: 'sp', regOffset: 248 });
  t.like(parseUsdtArg('8@[x1, -8]', 'aarch64'), { kind: 'deref', value: -8n, regOffset: 8 });
  t.like(parseUsdtArg('8@[x2]', 'aarch64'), { kind: 'deref', value: 0n, regOffset: 16 });
  t.like(parseUsdtArg('4@5', 'aarch64'), { kind: 'const', value: 5n });
  t.is(parseUsdtArgs('8@x0 8@[sp, 16] -4@w2', 'aarch64').length, 3, 'the space inside brackets does not split');
  t.throws(() => parseUsdtArg('8@x31', 'aarch64'), { instanceOf: EbpfError });
});

test('the SVG\'s script zooms: a clicked frame fills the width, its ancestors stay, others hide', (t) => {
  const svg = flameGraphSvg(sample);
  const script = /<!\[CDATA\[([\s\S]*?)\]\]>/.exec(svg)![1];
  // A minimal stand-in for the browser's DOM, built from the SVG's own frames.
  const el = (attrs: Record<string, string>) => {
    const listeners: Record<string, () => void> = {};
    const self: any = {
      attrs: { ...attrs },
      style: { display: '', opacity: '' },
      textContent: '',
      getAttribute: (k: string) => self.attrs[k] ?? null,
      setAttribute: (k: string, v: unknown) => (self.attrs[k] = String(v)),
      addEventListener: (ev: string, fn: () => void) => (listeners[ev] = fn),
      fire: (ev: string) => listeners[ev]?.(),
    };
    return self;
  };
  const frames = [...svg.matchAll(/<g class="f" data-x="([^"]+)" data-w="([^"]+)" data-d="([^"]+)" data-n="([^"]*)"><title>([^<]*)<\/title><rect x="([^"]+)" y="[^"]+" width="([^"]+)"/g)].map((m) => {
    const g = el({ 'data-x': m[1], 'data-w': m[2], 'data-d': m[3], 'data-n': m[4] });
    const rect = el({ x: m[6], width: m[7], fill: 'red' });
    const text = el({});
    const title = el({});
    title.textContent = m[5];
    g.querySelector = (sel: string) => ({ rect, text, title })[sel];
    return g;
  });
  const byId: Record<string, any> = { details: el({}), reset: el({}), search: el({}) };
  const document = {
    documentElement: el({ 'data-width': '1200' }),
    querySelectorAll: () => frames,
    getElementById: (id: string) => byId[id],
  };
  new Function('document', 'prompt', `${script}; init({});`)(document, () => 'hot');
  const find = (n: string) => frames.find((g) => g.attrs['data-n'] === n)!;
  const handler = find('handler (/srv/app.js:10:1)');
  handler.fire('click');
  t.is(Number(handler.querySelector('rect').attrs.width), 1200 - 20 - 1, 'the clicked frame fills the width');
  t.is(find('hotLoop (/srv/app.js:3:1)').querySelector('rect').attrs.width, String((1200 - 20) * (60 / 85) - 1), 'its child scales with it');
  t.is(find('main').style.display, '', 'an ancestor stays');
  t.is(find('uv_run').style.display, 'none', 'a frame beside it hides');
  byId.reset.fire('click');
  t.is(find('uv_run').style.display, '', 'reset shows everything again');
  byId.search.fire('click');
  t.is(find('hotLoop (/srv/app.js:3:1)').querySelector('rect').attrs.fill, 'rgb(230,0,230)', 'search highlights matches');
  t.is(find('main').querySelector('rect').attrs.fill, 'red', 'and leaves the rest');
});

test('a perf map older than the process with that pid is not used (pid reuse)', (t) => {
  const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
  t.teardown(() => sleeper.kill());
  const path = `/tmp/perf-${sleeper.pid}.map`;
  t.teardown(() => rmSync(path, { force: true }));
  writeFileSync(path, '1000 100 JS:*stale /old.js:1:1\n');
  const hourAgo = new Date(Date.now() - 3600_000);
  utimesSync(path, hourAgo, hourAgo);
  t.is(PerfMap.forPid(sleeper.pid!), undefined, 'written an hour before the process started');
  const now = new Date();
  utimesSync(path, now, now);
  t.is(PerfMap.forPid(sleeper.pid!)?.lookup(0x1010n)?.name, 'stale', 'written since: it is the process\'s own');
});

test('the renderers and the perf-map reader refuse arguments of the wrong type', (t) => {
  for (const render of [foldedStacks, flameGraphSvg, speedscopeJson] as Array<(s: WeightedStack[]) => string>) {
    t.throws(() => render('x' as unknown as WeightedStack[]), { instanceOf: TypeError });
    t.throws(() => render([{ frames: [], weight: Number.NaN }]), { instanceOf: TypeError });
  }
  t.throws(() => new PerfMap(''), { instanceOf: TypeError });
  t.throws(() => PerfMap.forPid(-1), { instanceOf: RangeError });
  t.throws(() => parsePerfMapLine(3 as unknown as string), { instanceOf: TypeError });
});

// The project commands as a user calls them: `aya-node gen` on an object, `aya-node doctor`, and
// `aya-node build` telling exactly what is missing when the toolchain is not there.

import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { clangCheck, clangIncludeArgs, targetArchDefine } from '../src/project/toolchain';

const repo = resolve(__dirname, '..');
const cli = join(repo, 'dist', 'cli.js');
const work = mkdtempSync(join(tmpdir(), 'aya-node-cli-'));
test.after.always(() => rmSync(work, { recursive: true, force: true }));

const aya = (args: string[], env: NodeJS.ProcessEnv = process.env) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env, cwd: work });

const clang = clangCheck();
(clang.path ? test : test.skip)(`gen writes a module from a C object; an unknown event map or type is an error${clang.path ? '' : ' (skipped: clang is not installed)'}`, (t) => {
  const object = join(work, 'gen_types.bpf.o');
  execFileSync(clang.path!, ['-O2', '-g', '-target', 'bpf', targetArchDefine(), ...clangIncludeArgs(), '-c', join(repo, 'ebpf', 'c', 'gen_types.bpf.c'), '-o', object]);
  const out = join(work, 'types.ts');
  const ok = aya(['gen', object, '-o', out, '--event', 'gen_events=gen_event']);
  t.is(ok.status, 0, ok.stderr);
  t.regex(ok.stderr, /wrote .*types\.ts \(gen_point: 16 bytes from DWARF, gen_inner: 40 bytes from DWARF, gen_event: 104 bytes from DWARF, gen_key: 8 bytes from BTF\)/);
  const source = readFileSync(out, 'utf8');
  t.regex(source, /gen_events: \(options\?: aya\.RingBufOptions\) => ebpf\.ringBuf\("gen_events", gen_event, options\)/);
  t.regex(source, /gen_last: once\(\(\) => ebpf\.map\("gen_last", aya\.HashMap, gen_key, gen_inner\)\)/);
  t.regex(source, /get gen_getppid\(\): aya\.TracePoint/);

  const noMap = aya(['gen', object, '-o', out, '--event', 'nope=gen_event']);
  t.is(noMap.status, 1);
  t.regex(noMap.stderr, /--event nope: the object has no ring buffer or perf event array named nope \(it has: gen_events\)/);
  const noType = aya(['gen', object, '-o', out, '--type', 'no_such_struct']);
  t.is(noType.status, 1);
  t.regex(noType.stderr, /--type no_such_struct: no type named no_such_struct/);
  const usage = aya(['gen', object]);
  t.is(usage.status, 1);
  t.regex(usage.stderr, /usage: aya-node gen <object> -o <file\.ts>/);
});

(clang.path ? test : test.skip)(`build compiles a C project with clang and generates its module${clang.path ? '' : ' (skipped: clang is not installed)'}`, (t) => {
  const dir = join(work, 'c-project');
  mkdirSync(dir);
  copyFileSync(join(repo, 'ebpf', 'c', 'gen_types.bpf.c'), join(dir, 'prog.bpf.c'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({
    name: 'c-project',
    'aya-node': { c: 'prog.bpf.c', object: 'out/prog.bpf.o', gen: { out: 'src/prog.ts', events: { gen_events: 'gen_event' } } },
  }));
  const result = aya(['build', '--dir', dir]);
  t.is(result.status, 0, result.stderr);
  t.regex(result.stderr, /wrote src\/prog\.ts: .*gen_event \(104 bytes, DWARF\)/);
  t.true(existsSync(join(dir, 'out', 'prog.bpf.o')));
  t.regex(readFileSync(join(dir, 'src', 'prog.ts'), 'utf8'), /ebpf\.ringBuf\("gen_events", gen_event, options\)/);
});

test('doctor lists the toolchain, kernel and permission checks with a verdict', (t) => {
  const result = aya(['doctor']);
  t.regex(result.stdout, /Rust eBPF toolchain/);
  t.regex(result.stdout, /bpf-linker: /);
  t.regex(result.stdout, /kernel BTF: /);
  t.regex(result.stdout, /capabilities: /);
  t.regex(result.stdout, /(Everything needed is there|Something required is missing)/);
  t.is(result.status, /Something required is missing/.test(result.stdout) ? 1 : 0);
});

test('build without bpf-linker says it is missing and how to install it, before running cargo', (t) => {
  const dir = join(work, 'project');
  const made = aya(['new', dir]);
  t.is(made.status, 0, made.stderr);
  // A PATH and CARGO_HOME where neither rustup nor bpf-linker are (Debian's rustc still is).
  const env = { ...process.env, PATH: '/usr/sbin:/usr/bin:/sbin:/bin', CARGO_HOME: join(work, 'no-cargo-home') };
  const result = aya(['build', '--dir', dir], env);
  t.is(result.status, 1);
  t.regex(result.stderr, /cannot build the Rust crate ebpf: missing tools/);
  t.regex(result.stderr, /bpf-linker: not installed\n\s+fix: .*cargo install --locked bpf-linker@0\.13\.0/);
  t.false(existsSync(join(dir, 'ebpf', 'objects', `${'project'}.bpf.o`)));
});

test('build outside a project says what it needs', (t) => {
  writeFileSync(join(work, 'package.json'), JSON.stringify({ name: 'not-a-project' }));
  const result = aya(['build']);
  t.is(result.status, 1);
  t.regex(result.stderr, /has no "aya-node" section saying what to build \(see aya-node new\)/);
});

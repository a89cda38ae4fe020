// `aya-node new` end to end, as a user runs it: the package is packed, a project is scaffolded
// into an empty temporary folder, installed (aya-node from the tarball), built with the eBPF
// toolchain that scripts/setup.sh installs, and its own ava tests run against the kernel.
// Then the shared Rust struct changes and the generated TypeScript type follows it.

import test from 'ava';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { requirementsUnmet } from '../src/testing';
import { rustChecks } from '../src/project/toolchain';

const repo = resolve(__dirname, '..');
const work = realpathSync(mkdtempSync(join(tmpdir(), 'aya-node-scaffold-')));
const cli = join(repo, 'dist', 'cli.js');
// The repository's own eBPF target dir: `core` and aya-ebpf are compiled there already with the
// same profile, so a scaffolded project builds in seconds (a cold one compiles `core`: minutes).
const cargoTargetDir = join(repo, 'target', 'ebpf');

const unmet = requirementsUnmet({ root: true, programTypes: ['tracepoint', 'xdp'], tracefs: true, commands: ['npm', 'ip'] })
  ?? (rustChecks().toolchain ? undefined : 'the Rust eBPF toolchain is missing (scripts/setup.sh installs it; aya-node doctor says what)');
const kernelTest = unmet ? test.serial.skip : test.serial;
const skipped = unmet ? ` (skipped: ${unmet})` : '';

let tarball = '';
test.before(() => {
  if (unmet) return;
  const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', work, '--loglevel=error'], { cwd: repo, encoding: 'utf8' })) as Array<{ filename: string }>;
  tarball = join(work, packed[0].filename);
});
test.after.always(() => rmSync(work, { recursive: true, force: true }));

interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command without blocking the test's event loop (ava must keep hearing from it). */
function sh(file: string, args: string[], cwd: string): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { cwd, env: { ...process.env, CARGO_TARGET_DIR: cargoTargetDir }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 8 * 60_000);
    child.on('error', (err) => resolve({ status: null, stdout, stderr: `${stderr}${err.message}` }));
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

async function ok(ran: Promise<Ran>, what: string): Promise<string> {
  const result = await ran;
  if (result.status !== 0) throw new Error(`${what} failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
  return result.stdout + result.stderr;
}

/** Scaffolds `template` into work/<name> and installs it; returns its directory. */
async function scaffold(name: string, template: string): Promise<string> {
  await ok(sh(process.execPath, [cli, 'new', name, '--template', template, '--aya-node', `file:${tarball}`], work), 'aya-node new');
  const dir = join(work, name);
  await ok(sh('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', '--prefer-offline'], dir), 'npm install');
  return dir;
}

kernelTest(`tracepoint template: new, install, npm test passes and sees an event${skipped}`, async (t) => {
  t.timeout(10 * 60_000);
  const started = Date.now();
  const dir = await scaffold('demo', 'tracepoint');
  const installed = Date.now();
  const out = await ok(sh('npm', ['test'], dir), 'npm test of the scaffold');
  const done = Date.now();
  t.regex(out, /wrote src\/generated\.ts: Event \(32 bytes, DWARF\)/);
  t.regex(out, /✔ an execution is reported with its command name and counted/);
  t.regex(out, /2 tests passed/);
  t.notRegex(out, /skipped/);
  // The template's lock file was complete: cargo resolved nothing new (nothing needing rustc 1.98).
  t.is(readFileSync(join(dir, 'ebpf', 'Cargo.lock'), 'utf8'), readFileSync(join(repo, 'templates', 'common', 'ebpf', 'Cargo.lock'), 'utf8'));
  t.log(`new + npm install: ${((installed - started) / 1000).toFixed(1)} s; npm test (build + gen + tests, first event): ${((done - installed) / 1000).toFixed(1)} s; total ${((done - started) / 1000).toFixed(1)} s`);
});

kernelTest(`changing the shared Rust struct changes the generated TypeScript type${skipped}`, async (t) => {
  t.timeout(5 * 60_000);
  const dir = join(work, 'demo');
  // A user's file that reads a field the struct does not have yet: the type check fails.
  writeFileSync(join(dir, 'src', 'uses-cpu.ts'), "import type { Event } from './generated';\nexport const cpuOf = (e: Event): number => e.cpu;\n");
  const before = await sh(join(dir, 'node_modules', '.bin', 'tsc'), ['-p', '.'], dir);
  t.not(before.status, 0);
  t.regex(before.stdout, /Property 'cpu' does not exist on type/);

  const lib = join(dir, 'ebpf', 'common', 'src', 'lib.rs');
  writeFileSync(lib, readFileSync(lib, 'utf8').replace('    pub uid: u32,\n', '    pub uid: u32,\n    /// The CPU the execution happened on.\n    pub cpu: u32,\n'));
  const main = join(dir, 'ebpf', 'programs', 'src', 'main.rs');
  writeFileSync(main, readFileSync(main, 'utf8').replace('(*event).uid = uid;', '(*event).uid = uid;\n            (*event).cpu = aya_ebpf::helpers::bpf_get_smp_processor_id();'));
  await ok(sh('npm', ['run', 'build'], dir), 'npm run build after the change');

  const generated = readFileSync(join(dir, 'src', 'generated.ts'), 'utf8');
  // (4 bytes of padding after cpu: alignment puts count at 16, as Rust does.)
  t.regex(generated, /uid: codec\.u32,\n  cpu: codec\.u32,\n  count: codec\.u64,/);
  t.regex(generated, /Event: 40,/);
  // Both ways: the user's file now checks, and the project's test that builds an Event without
  // the new field fails until it sets it.
  const after = await sh(join(dir, 'node_modules', '.bin', 'tsc'), ['-p', '.'], dir);
  t.notRegex(after.stdout, /uses-cpu\.ts/);
  t.regex(after.stdout, /__test__\/program\.test\.ts[\s\S]*Property 'cpu' is missing/);
  const testFile = join(dir, '__test__', 'program.test.ts');
  writeFileSync(testFile, readFileSync(testFile, 'utf8').replace("comm: 'bash' }", "comm: 'bash', cpu: 0 }"));
  await ok(sh(join(dir, 'node_modules', '.bin', 'tsc'), ['-p', '.'], dir), 'the type check after the change');
  // The program's own tests still pass: events of the new size decode with the new codec.
  t.regex(await ok(sh('npm', ['test'], dir), 'npm test after the change'), /2 tests passed/);
});

kernelTest(`xdp template: new, install, npm test passes (test run and a real veth)${skipped}`, async (t) => {
  t.timeout(10 * 60_000);
  const dir = await scaffold('demo-xdp', 'xdp');
  const out = await ok(sh('npm', ['test'], dir), 'npm test of the xdp scaffold');
  t.regex(out, /wrote src\/generated\.ts: Event \(16 bytes, DWARF\)/);
  t.regex(out, /3 tests passed/);
});

test('new refuses a directory that is not empty, and an unknown template', (t) => {
  const dir = mkdtempSync(join(work, 'full-'));
  writeFileSync(join(dir, 'x'), '');
  const full = spawnSync(process.execPath, [cli, 'new', dir], { encoding: 'utf8' });
  t.is(full.status, 1);
  t.regex(full.stderr, /already exists and is not an empty directory/);
  const bad = spawnSync(process.execPath, [cli, 'new', join(work, 'nope'), '--template', 'kprobe'], { encoding: 'utf8' });
  t.is(bad.status, 1);
  t.regex(bad.stderr, /template: expected one of tracepoint, xdp/);
});

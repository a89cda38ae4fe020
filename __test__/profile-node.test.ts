// profile and offcpu pointed at Node.js processes: JavaScript function names from V8's perf
// map in the folded stacks, the SVG flame graph and the speedscope file; demangled C++ frames;
// the notice for a Node process started without a perf map; off-CPU time by JS stack.

import test, { type ExecutionContext } from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Profile } from '../src';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, within } from './helpers';
import { checkWidths, parseSvg, validateSpeedscope } from './flamegraph-helpers';

const unique = () => `${process.pid}_${Math.random().toString(36).slice(2, 8)}`;

/** Starts `node [flags] script` in a temporary directory; resolves once the script printed `ready`. */
async function startNode(t: ExecutionContext, flags: string[], source: string): Promise<{ child: ChildProcess; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'aya-node-js-'));
  writeFileSync(join(dir, 'app.js'), source);
  const child = spawn(process.execPath, [...flags, join(dir, 'app.js')], { cwd: dir, stdio: ['pipe', 'pipe', 'inherit'] });
  t.teardown(() => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    rmSync(`/tmp/perf-${child.pid}.map`, { force: true });
  });
  await within(10_000, 'the node child to start', new Promise<void>((resolve) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d;
      if (out.includes('ready')) resolve();
    });
  }));
  return { child, dir };
}

const busySource = (name: string) => `
function ${name}(n) { let s = 0; for (let i = 0; i < n; i++) s += Math.sqrt(i) * i % 7; return s; }
for (let i = 0; i < 50; i++) ${name}(1e5); // optimized before the profile starts
console.log('ready');
for (;;) ${name}(1e5);
`;

test.serial('profile --pid of a Node process with --perf-basic-prof names its hot JS function in folded stacks, SVG and speedscope, with C++ demangled', async (t) => {
  const name = `ayaHotJs_${unique()}`;
  const { child, dir } = await startNode(t, ['--perf-basic-prof'], busySource(name));
  const svgPath = join(dir, 'flame.svg');
  const ssPath = join(dir, 'profile.json');
  const { stdout, stderr } = await runCli(['profile', '--pid', String(child.pid), '--frequency', '99', '--duration', '3', '--svg', svgPath, '--speedscope', ssPath], () => undefined);

  const lines = stdout.trim().split('\n').filter(Boolean);
  const total = lines.reduce((s, l) => s + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  const hot = lines.filter((l) => l.includes(`;${name} (${join(dir, 'app.js')}:2:`)).reduce((s, l) => s + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  t.true(total >= 10, `samples were taken (${total} in 3 s at 99 Hz on a busy machine)`);
  t.true(hot / total > 0.5, `most samples are in ${name} with its file and line (${hot}/${total})`);
  t.regex(stdout, /;node::[A-Za-z:]+\([^;]*\);/, 'Node\'s C++ frames are demangled (with their parameters)');
  t.notRegex(stdout, /;_Z[A-Za-z0-9_]+;/, 'no mangled name is left');
  t.notRegex(stderr, /without \/tmp\/perf-/, 'no notice: it has a perf map');

  const svg = parseSvg(svgPath);
  const frame = svg.frames.find((f) => f.n.startsWith(`${name} (`));
  t.truthy(frame, 'the SVG has the JS function as a frame');
  t.true(frame!.w / svg.total > 0.5, 'and it is most of the width');
  checkWidths(t, svg);

  const doc = validateSpeedscope(t, ssPath);
  const index = doc.shared.frames.findIndex((f: { name: string; file?: string }) => f.name === name && f.file === join(dir, 'app.js'));
  t.true(index >= 0, 'the speedscope file has the JS function, with its file');
  const [profile] = doc.profiles;
  const inHot = profile.samples.reduce((s: number, stack: number[], i: number) => s + (stack.at(-1) === index ? profile.weights[i] : 0), 0);
  t.true(inHot / profile.endValue > 0.5, 'and it is on top of most samples');
});

test.serial('profile --pid of a Node process without a perf map says how to get one', async (t) => {
  const name = `ayaNoMap_${unique()}`;
  const { child, dir } = await startNode(t, [], busySource(name));
  const svgPath = join(dir, 'flame.svg');
  const { stdout, stderr } = await runCli(['profile', '--pid', String(child.pid), '--frequency', '99', '--duration', '2', '--svg', svgPath], () => undefined);
  t.false(existsSync(`/tmp/perf-${child.pid}.map`));
  t.regex(stderr, new RegExp(`pid ${child.pid} is a Node\\.js process without /tmp/perf-${child.pid}\\.map.*--perf-basic-prof`));
  t.false(stdout.includes(name), 'its JS function cannot be named');
  t.true(stdout.trim().length > 0, 'the stacks are still reported');
  t.regex(parseSvg(svgPath).notes.join('\n'), /--perf-basic-prof/, 'the SVG carries the notice too');
});

test.serial('offcpu (profile --off-cpu) shows the JS function a Node process blocks in, with the time blocked', async (t) => {
  const name = `ayaBlocked_${unique()}`;
  const { child, dir } = await startNode(
    t,
    ['--perf-basic-prof'],
    `const fs = require('node:fs');
function ${name}() { const b = Buffer.alloc(64); return fs.readSync(0, b, 0, 64, null); }
console.log('ready');
while (${name}() > 0) {}
`,
  );
  // Wake the reader every 100 ms, so each block ends (and is counted) while we trace.
  const feeder = setInterval(() => child.stdin!.write('x'), 100);
  t.teardown(() => clearInterval(feeder));
  const svgPath = join(dir, 'off.svg');
  const { stdout } = await runCli(['profile', '--off-cpu', '--pid', String(child.pid), '--duration', '2', '--svg', svgPath], () => undefined);
  const lines = stdout.trim().split('\n').filter(Boolean);
  const blockedNs = lines.filter((l) => l.includes(`;${name} (`)).reduce((s, l) => s + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  t.true(blockedNs > 0.5e9, `over half of the 2 s traced is time blocked in ${name} (${(blockedNs / 1e9).toFixed(2)} s)`);
  t.true(lines.some((l) => l.includes(`;${name} (`) && /;(ksys_read|vfs_read)/.test(l)), 'under it, the kernel read it waits in');
  const svg = parseSvg(svgPath);
  t.truthy(svg.frames.find((f) => f.n.startsWith(`${name} (`)));
  checkWidths(t, svg);
});

test.serial('a Node process in its own pid and mount namespaces (a container) has its perf map found through /proc/<pid>/root', async (t) => {
  const name = `ayaInNs_${unique()}`;
  // Its /tmp is a private tmpfs and it is pid 1 there: its map is <its root>/tmp/perf-1.map.
  const source = busySource(name);
  const dir = mkdtempSync(join(tmpdir(), 'aya-node-js-ns-'));
  const child = spawn('unshare', ['--pid', '--fork', '--mount', '--kill-child', 'sh', '-c', `mount -t tmpfs none /tmp && exec "$0" --perf-basic-prof -e "$1"`, process.execPath, source], {
    cwd: dir, // V8's log file lands there, not in the repository
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  await within(10_000, 'the namespaced node to start', new Promise((r) => child.stdout!.once('data', r)));
  const node = Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/)[0]);
  t.regex(readFileSync(`/proc/${node}/status`, 'utf8'), /^NSpid:\s+\d+\s+1$/m, 'it is pid 1 in its namespace');
  t.false(existsSync(`/tmp/perf-${node}.map`), 'nothing under its host pid in the host /tmp');
  const profile = Profile.open({ pid: node, frequency: 99 });
  t.teardown(() => profile.close());
  await new Promise((r) => setTimeout(r, 1500));
  const stacks = profile.stacks();
  t.true(stacks.some((s) => s.frames.some((f) => f.startsWith(`${name} (`))), `${name} is named`);
  t.false(profile.notices().some((n) => n.includes('without /tmp/perf-')), 'no missing-map notice');
});

// Netlink TC filters outlive the process that made them unless something removes them: a child
// attaches tc_drop_udp through netlink (forced with `api: 'netlink'`; TCX is this kernel's
// default) and ends without close() in each way a process ends. The filter must be gone from
// the kernel soon after, packets must pass again, the program must be unloaded, and the watcher
// process must be gone too. A filter another tool put in its place must survive. The kernel
// tests run one at a time: each starts node processes and times packets, on a small shared machine.

import test, { type ExecutionContext } from 'ava';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundledObjectPath, Ebpf, SchedClassifier } from '../src';
import { tcWatcherPid } from '../src/programs/tc-watch';
import { kernelHasProgram } from './helpers';
import { eventually, u16, udpEchoServer, udpRoundTrip, vethPair, type VethPair } from './programs-helpers';

const DROPPED_PORT = 7011;
const repo = join(__dirname, '..');
const fixture = join(__dirname, 'fixtures', 'tc-netlink-child.ts');
/** How long the filter may outlive its process: the watcher wakes at EOF, this is slack for a busy machine. */
const BOUND_MS = 5000;
/** Reply wait for a datagram that should pass (generous: a busy machine), and one that should not. */
const PASS_MS = 2000;
const DROP_MS = 1000;

interface Attached {
  child: ChildProcess;
  programId: number;
  watcherPid: number;
  stderr: () => string;
}

/** `tc filter show` of egress of the client interface, as the kernel reports it. */
function filters(net: VethPair): Array<{ pref: number; options?: { handle: string; prog?: { id: number }; bytecode?: unknown } }> {
  return JSON.parse(execFileSync('tc', ['-j', '-n', net.nsA, 'filter', 'show', 'dev', net.ifA, 'egress'], { encoding: 'utf8' }) || '[]');
}

const hasProgramFilter = (net: VethPair, id: number) => filters(net).some((f) => f.options?.prog?.id === id);

function processGone(pid: number): boolean {
  try {
    // A zombie has exited too: its state is Z.
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

/** `inside`: the child runs in the namespace (no `netns` option); `group`: in a process group of its own. */
async function attachInChild(t: ExecutionContext, net: VethPair, mode: string, { inside = false, group = false } = {}): Promise<Attached> {
  const node = [process.execPath, '--import=tsx', fixture, net.ifA, inside ? '-' : net.netnsA, String(DROPPED_PORT), mode];
  const [command, ...args] = inside ? ['ip', 'netns', 'exec', net.nsA, ...node] : node;
  const child = spawn(command!, args, { cwd: repo, stdio: ['pipe', 'pipe', 'pipe'], detached: group });
  t.teardown(() => void child.kill('SIGKILL'));
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    child.on('exit', (code) => reject(new Error(`the child exited (${code}) before attaching: ${err}`)));
  });
  const { kind, programId, watcherPid } = JSON.parse(line) as { kind: string; programId: number; watcherPid: number };
  t.is(kind, 'tc', 'attached through netlink');
  t.true(Number.isInteger(watcherPid), 'a watcher was started');
  t.teardown(() => {
    if (!processGone(watcherPid)) process.kill(watcherPid, 'SIGKILL');
  });
  return { child, programId, watcherPid, stderr: () => err };
}

const exited = (child: ChildProcess) =>
  new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve([child.exitCode, child.signalCode]);
    else child.once('exit', (code, signal) => resolve([code, signal]));
  });

// `exit`: the event loop runs dry while the watcher lives, which shows the watcher keeps no
// loop alive (Node's teardown also runs the native finalizers then; `process.exit` does not).
// `SIGINT to the group` is Ctrl-C in a terminal: the watcher, in a session of its own, is not
// hit. `inside`: attached without the `netns` option from a process in the namespace.
for (const mode of ['exit', 'process.exit', 'exception', 'SIGTERM', 'SIGKILL', 'SIGINT to the group', 'SIGKILL, inside'] as const) {
  test.serial(`a netlink TC filter is removed after its process ends by ${mode} without close()`, async (t) => {
    const net = vethPair(t);
    await udpEchoServer(t, net.nsB, net.addrB, [DROPPED_PORT]);
    t.true(await udpRoundTrip(net.nsA, net.addrB, DROPPED_PORT, PASS_MS), 'reachable before attaching');

    const options = { inside: mode.endsWith('inside'), group: mode.endsWith('group') };
    const childMode = mode === 'exception' || mode === 'process.exit' ? mode : 'exit';
    const { child, programId, watcherPid, stderr } = await attachInChild(t, net, childMode, options);
    t.true(hasProgramFilter(net, programId), 'the filter is in the kernel');
    t.false(await udpRoundTrip(net.nsA, net.addrB, DROPPED_PORT, DROP_MS), 'dropped while the child lives');

    const signal = mode.startsWith('SIG') ? (mode.split(/[ ,]/)[0] as NodeJS.Signals) : undefined;
    if (options.group) process.kill(-child.pid!, signal);
    else if (signal) child.kill(signal);
    else child.stdin!.write('end\n');
    const [code, endedBy] = await exited(child);
    if (mode === 'exit' || mode === 'process.exit') t.is(code, 0);
    if (mode === 'exception') {
      t.is(code, 1);
      t.regex(stderr(), /uncaught on purpose/);
    }
    if (signal) t.is(endedBy, signal);

    t.true(await eventually(() => !hasProgramFilter(net, programId), BOUND_MS), `the filter is gone within ${BOUND_MS} ms`);
    t.true(await udpRoundTrip(net.nsA, net.addrB, DROPPED_PORT, PASS_MS), 'packets pass again');
    t.true(await eventually(() => !kernelHasProgram(programId), BOUND_MS), 'the program is unloaded');
    t.true(await eventually(() => processGone(watcherPid), BOUND_MS), 'the watcher is gone');
    t.notRegex(stderr(), /tc watcher/, 'the watcher reported no trouble');
  });
}

for (const mode of ['exit', 'SIGKILL'] as const) {
  test.serial(`a filter that another tool put in place of ours survives our process ending by ${mode}`, async (t) => {
    const net = vethPair(t);
    const { child, programId, watcherPid } = await attachInChild(t, net, 'exit');
    const ours = filters(net).find((f) => f.options?.prog?.id === programId);
    t.truthy(ours, 'the filter is in the kernel');
    // Another tool replaces the filter at the same priority and handle (a classic BPF filter).
    execFileSync('tc', ['-n', net.nsA, 'filter', 'replace', 'dev', net.ifA, 'egress', 'protocol', 'all',
      'prio', String(ours!.pref), 'handle', ours!.options!.handle, 'bpf', 'bytecode', '1,6 0 0 0,']);
    t.false(hasProgramFilter(net, programId));

    if (mode === 'SIGKILL') child.kill('SIGKILL');
    else child.stdin!.write('end\n');
    await exited(child);
    t.true(await eventually(() => processGone(watcherPid), BOUND_MS), 'the watcher is gone');
    const after = filters(net).filter((f) => f.options?.handle === ours!.options!.handle && f.pref === ours!.pref);
    t.is(after.length, 1, 'the replacement is still there');
    t.truthy(after[0]!.options!.bytecode, 'and it is the other tool\'s');
    t.true(await eventually(() => !kernelHasProgram(programId), BOUND_MS), 'our program is unloaded');
  });
}

test.serial('one watcher serves the attachments of a process and goes a few seconds after the last detach', async (t) => {
  const net = vethPair(t);
  using obj = Ebpf.load(bundledObjectPath('tc_drop_udp'), { globals: { DROP_PORT: u16(DROPPED_PORT) } });
  const program = obj.program('tc_drop_udp', SchedClassifier);
  const first = program.attach(net.ifA, { direction: 'egress', api: 'netlink', netns: net.netnsA });
  const watcherPid = tcWatcherPid();
  t.true(Number.isInteger(watcherPid), 'a watcher was started');
  t.teardown(() => {
    if (!processGone(watcherPid!)) process.kill(watcherPid!, 'SIGKILL');
  });
  const second = program.attach(net.ifA, { direction: 'ingress', api: 'netlink', netns: net.netnsA });
  t.is(tcWatcherPid(), watcherPid, 'the second attachment reuses it');
  first.detach();
  second.detach();
  t.false(hasProgramFilter(net, program.id!), 'detached');
  const third = program.attach(net.ifA, { direction: 'egress', api: 'netlink', netns: net.netnsA });
  t.is(tcWatcherPid(), watcherPid, 'an attachment soon after the last detach still reuses it');
  obj.close();
  t.false(third.attached);
  t.true(await eventually(() => processGone(watcherPid!), 10_000), 'the idle watcher went');
  t.is(tcWatcherPid(), undefined);
});

// The watcher on its own (no kernel needed): it must end by itself when it cannot do its job.
const watcherScript = join(repo, 'src', 'programs', 'tc-watcher.ts');

function runWatcher(args: string[], input?: string): Promise<{ code: number | null; ms: number; stderr: string }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const w = spawn(process.execPath, ['--import=tsx', watcherScript, ...args], { cwd: repo, stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    w.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const kill = setTimeout(() => w.kill('SIGKILL'), 20_000);
    w.on('close', (code) => {
      clearTimeout(kill);
      resolve({ code, ms: Date.now() - started, stderr });
    });
    // The pipe stays open: only the watcher's own checks can end it.
    if (input !== undefined) w.stdin!.write(input);
  });
}

test('the watcher exits by itself without a parent to watch, on a garbled pipe, and when its parent is not the one named', async (t) => {
  const none = await runWatcher([]);
  t.is(none.code, 1);
  t.regex(none.stderr, /without the pid of a parent/);

  const garbled = await runWatcher([String(process.pid)], 'x'.repeat(100_000));
  t.is(garbled.code, 0);
  t.regex(garbled.stderr, /something else than our messages/);

  // Named parent != real parent: as after a re-parenting when the pipe leaked into another process.
  const orphan = await runWatcher([String(process.pid + 1)], '{"op":"del","key":1}\n');
  t.is(orphan.code, 0);
  t.true(orphan.ms < 15_000, `exited after ${orphan.ms} ms`);
});

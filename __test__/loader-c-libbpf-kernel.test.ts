import test, { type ExecutionContext } from 'ava';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ArrayMap, codec, Ebpf, EbpfError, SchedClassifier, unpin, VerifierError } from '../src';
import { buildCObject, buildCSource, cleanupCObjects, cSkipReason } from './c-objects';

// What of libbpf's loader involves the kernel's registries (issue 15): struct_ops maps
// registered as bpf_map__attach_struct_ops registers them (a Reno TCP congestion control of
// ebpf/c/struct_ops_cc.bpf.c becomes an algorithm of the kernel, is used by a connection in a
// private network namespace, and goes away again), and weak kfuncs the kernel may lack.

if (cSkipReason) console.log(`skip: libbpf kernel-registry C tests: ${cSkipReason}`);
const ctest = cSkipReason ? test.skip : test;
const ctestSerial = cSkipReason ? test.skip : test.serial;
test.after.always(() => cleanupCObjects());

const run = promisify(execFile);
const AVAILABLE = '/proc/sys/net/ipv4/tcp_available_congestion_control';
const available = (): string[] => readFileSync(AVAILABLE, 'utf8').trim().split(/\s+/);
const hostDefault = (): string => readFileSync('/proc/sys/net/ipv4/tcp_congestion_control', 'utf8').trim();

// Algorithm names are global in the kernel (other test runs may be registering theirs): this
// process's own, within the 15 characters a name may have, set as members before registering.
const linkName = `ayal${process.pid}`;
const mapName = `ayam${process.pid}`;
const ccObject = (): string => buildCObject('struct_ops_cc');

const Counters = codec.struct({ inits: codec.u64, congAvoids: codec.u64, ssthreshs: codec.u64, undos: codec.u64 });

/**
 * The C congestion control loaded, or undefined (the test passed with the reason logged) when
 * this kernel cannot register it (probed: its struct_ops value type is missing).
 */
function loadCcOrSkip(t: ExecutionContext): Ebpf | undefined {
  const obj = Ebpf.load(ccObject());
  const refused = obj.structOpsMaps.find((m) => m.refused)?.refused;
  if (!refused) return obj;
  obj.close();
  t.log(`skip: this kernel cannot register tcp_congestion_ops: ${refused}`);
  t.pass();
  return undefined;
}

/** A network namespace of this test, deleted when it ends. */
function privateNetns(t: ExecutionContext, tag: string): string {
  const ns = `ayacc-${tag}-${process.pid}`;
  execFileSync('ip', ['netns', 'add', ns]);
  t.teardown(() => execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' }));
  execFileSync('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
  return ns;
}

/** A TCP connection over loopback inside `ns` that sends `bytes` and waits for the peer's close. */
async function tcpTransfer(ns: string, bytes: number): Promise<void> {
  const script = `
    const net = require('node:net');
    const server = net.createServer((s) => { s.resume(); s.on('end', () => s.end()); });
    server.listen(0, '127.0.0.1', () => {
      const c = net.connect(server.address().port, '127.0.0.1', () => c.end(Buffer.alloc(${bytes})));
      c.resume();
      c.on('close', () => server.close());
    });`;
  await run('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { timeout: 30_000 });
}

ctestSerial('a .struct_ops.link TCP congestion control registers, runs for a connection in its netns, and is gone after close', async (t) => {
  const before = hostDefault();
  const obj = loadCcOrSkip(t);
  if (!obj) return;
  t.teardown(() => obj.close());
  const ops = obj.structOps('reno_link');
  t.like(ops, { structName: 'tcp_congestion_ops', section: '.struct_ops.link' });
  t.deepEqual(ops.programs.sort(), ['reno_cong_avoid', 'reno_init', 'reno_ssthresh', 'reno_undo_cwnd']);
  t.true(['flags', 'name'].every((m) => ops.members.includes(m)), `data members: ${ops.members.join(', ')}`);
  t.false(ops.members.includes('ssthresh'), 'function pointers are not data members');
  t.false(available().includes(linkName));

  const registration = ops.register({ members: { name: linkName } });
  t.like(registration, { kind: 'struct_ops', attached: true, target: 'tcp_congestion_ops reno_link' });
  t.throws(() => registration.pin(42 as unknown as string), { instanceOf: TypeError, message: /^path must be a string, got 42/ });
  t.true(available().includes(linkName), `${linkName} is in ${AVAILABLE}: ${available().join(' ')}`);
  const shown = JSON.parse(execFileSync('bpftool', ['map', 'show', 'name', 'reno_link', '-j'], { encoding: 'utf8' }));
  t.true([shown].flat().some((m: { type: string }) => m.type === 'struct_ops'), 'the kernel has a struct_ops map named reno_link');

  // Selected in a namespace of its own only: the host's default (and other tests') stay.
  const ns = privateNetns(t, 'link');
  execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', `net.ipv4.tcp_congestion_control=${linkName}`]);
  t.is(execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-n', 'net.ipv4.tcp_congestion_control'], { encoding: 'utf8' }).trim(), linkName);
  t.is(hostDefault(), before);
  await tcpTransfer(ns, 8 << 20);
  const counters = obj.map('.bss', ArrayMap, Counters).get(0)!;
  t.log(`callbacks run: ${JSON.stringify(counters, (_, v) => (typeof v === 'bigint' ? Number(v) : v))}`);
  t.true(counters.inits >= 2n, 'init ran for both ends of the connection');
  t.true(counters.congAvoids > 0n, 'cong_avoid (calling the kernel\'s tcp_reno_cong_avoid) ran on ACKs');

  // A namespace's default holds a reference to the algorithm: give it back before closing.
  execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv4.tcp_congestion_control=reno']);
  obj.close();
  t.false(registration.attached);
  t.false(available().includes(linkName), 'unregistered by close()');
  t.is(hostDefault(), before, 'the host\'s default algorithm is untouched');
});

ctest('a .struct_ops variable registers through a link by default, and the kernel unregisters it when the process dies', async (t) => {
  const object = ccObject();
  using probe = loadCcOrSkip(t);
  if (!probe) return;
  // A child registers and is killed with SIGKILL: no close(), no finalizer, only the kernel.
  const script = `
    const { Ebpf } = require(${JSON.stringify(join(__dirname, '..', 'dist'))});
    const obj = Ebpf.load(${JSON.stringify(object)});
    obj.structOps('reno_map').register({ members: { name: ${JSON.stringify(mapName)} } });
    process.stdout.write('registered\\n');
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => child.kill('SIGKILL'));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('registered') && resolve());
    child.on('exit', (code) => reject(new Error(`child exited with ${code}`)));
  });
  t.true(available().includes(mapName), 'registered by the child');
  child.kill('SIGKILL');
  await exited;
  // The kernel frees the link when the dead process's fds close (asynchronously).
  for (let i = 0; i < 100 && available().includes(mapName); i++) await new Promise((r) => setTimeout(r, 20));
  t.false(available().includes(mapName), 'gone once the process is');
});

ctest('link: false registers a .struct_ops variable with a map update, as libbpf does; detach deletes it', (t) => {
  using obj = loadCcOrSkip(t);
  if (!obj) return;
  const members = { name: mapName };
  const registration = obj.structOps('reno_map').register({ link: false, members });
  t.true(available().includes(mapName));
  // A second registration under the same name is refused by the kernel: BUSY.
  const twice = t.throws(() => obj.structOps('reno_map').register({ members }));
  t.true(twice instanceof EbpfError && twice.code === 'BUSY', String(twice));
  registration.detach();
  t.false(registration.attached);
  t.false(available().includes(mapName), 'deleted from the kernel by detach()');
  // .struct_ops.link variables register through a link only.
  t.throws(() => obj.structOps('reno_link').register({ link: false }), { instanceOf: EbpfError, message: /link only/ });
  t.throws(() => obj.structOps('reno_link').register({ link: 'yes' as unknown as boolean }), { instanceOf: TypeError, message: /options\.link/ });
  t.throws(() => obj.structOps('nope'), { instanceOf: EbpfError, message: /struct_ops variables: reno_link, reno_map/ });
  // Members: only the data members the variable declares, and only what fits.
  t.throws(() => obj.structOps('reno_map').register({ members: { ssthresh: 'x' } }), { instanceOf: EbpfError, message: /no data member `ssthresh`.*it has: .*name/ });
  t.throws(() => obj.structOps('reno_map').register({ members: { name: 'sixteen_chars_xx' } }), { instanceOf: EbpfError, message: /members\.name: 17 bytes do not fit in the member's 16/ });
  t.throws(() => obj.structOps('reno_map').register({ members: { name: 5 as unknown as string } }), { instanceOf: TypeError, message: /options\.members\.name/ });
  // An empty name is refused here, not by the kernel's bare EINVAL.
  t.throws(() => obj.structOps('reno_map').register({ members: { name: '' } }), { instanceOf: RangeError, message: /options\.members\.name must not be empty/ });
});

ctest('an object dropped without close() is unregistered by its finalizer, map-update registrations included', async (t) => {
  const object = ccObject();
  using probe = loadCcOrSkip(t);
  if (!probe) return;
  const name = `ayag${process.pid}`;
  // Should the finalizer not run, the registration would outlive the child: bpftool removes it.
  t.teardown(() => {
    if (available().includes(name)) execFileSync('bpftool', ['struct_ops', 'unregister', 'name', 'reno_map'], { stdio: 'ignore' });
  });
  const script = `
    const { readFileSync } = require('node:fs');
    const { Ebpf } = require(${JSON.stringify(join(__dirname, '..', 'dist'))});
    const listed = () => readFileSync('/proc/sys/net/ipv4/tcp_available_congestion_control', 'utf8').trim().split(' ').includes(${JSON.stringify(name)});
    (function () {
      Ebpf.load(${JSON.stringify(object)}).structOps('reno_map').register({ link: false, members: { name: ${JSON.stringify(name)} } });
    })();
    const before = listed();
    (async () => {
      for (let i = 0; i < 50 && listed(); i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 20)); }
      process.stdout.write(JSON.stringify({ before, after: listed() }));
    })();`;
  const { stdout } = await run(process.execPath, ['--expose-gc', '-e', script], { timeout: 30_000 });
  t.deepEqual(JSON.parse(stdout), { before: true, after: false }, 'registered, then deleted by the finalizer while the process runs');
});

ctest('a pinned struct_ops link keeps the algorithm registered after close(), until unpinned', (t) => {
  using obj = loadCcOrSkip(t);
  if (!obj) return;
  const name = `ayap${process.pid}`;
  const dir = `/sys/fs/bpf/aya-node-struct-ops-${process.pid}`;
  mkdirSync(dir, { recursive: true });
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const registration = obj.structOps('reno_link').register({ members: { name } });
  registration.pin(join(dir, 'cc'));
  obj.close();
  t.false(registration.attached);
  t.true(available().includes(name), 'still registered: the pin holds the link');
  unpin(join(dir, 'cc'));
  for (let i = 0; i < 100 && available().includes(name); i++) execFileSync('sleep', ['0.02']);
  t.false(available().includes(name), 'gone with the pin');
  t.false(existsSync(join(dir, 'cc')));
  // A map-update registration has no link to pin.
  using other = Ebpf.load(ccObject());
  using plain = other.structOps('reno_map').register({ link: false, members: { name } });
  t.throws(() => plain.pin(join(dir, 'plain')), { instanceOf: EbpfError, message: /no BPF link to pin/ });
});

ctest('a member the kernel\'s struct lacks is refused when set, as libbpf refuses it', (t) => {
  const members = [
    '__u32 (*ssthresh)(struct sock *sk);',
    '__u32 (*undo_cwnd)(struct sock *sk);',
    'void (*cong_avoid)(struct sock *sk, __u32 ack, __u32 acked);',
    'char name[16];',
    'int aya_made_up;',
  ].join(' ');
  const source = (madeUp: number) => [
    '#include "vmlinux.h"',
    '#include <bpf/bpf_helpers.h>',
    '#include <bpf/bpf_tracing.h>',
    `struct tcp_congestion_ops___aya { ${members} };`,
    'SEC("struct_ops/x_ssthresh") __u32 BPF_PROG(x_ssthresh, struct sock *sk) { return 2; }',
    'SEC("struct_ops/x_undo") __u32 BPF_PROG(x_undo, struct sock *sk) { return 2; }',
    'SEC("struct_ops/x_avoid") void BPF_PROG(x_avoid, struct sock *sk, __u32 ack, __u32 acked) {}',
    `SEC(".struct_ops.link") struct tcp_congestion_ops___aya made_up = { .ssthresh = (void *)x_ssthresh, .undo_cwnd = (void *)x_undo, .cong_avoid = (void *)x_avoid, .name = "ayax${process.pid}", .aya_made_up = ${madeUp} };`,
    'char LICENSE[] SEC("license") = "GPL";',
  ].join('\n');
  using obj = Ebpf.load(buildCSource(`struct_ops_made_up_${process.pid}`, source(1)));
  const refused = obj.structOpsMaps[0].refused ?? '';
  if (/no struct_ops type/.test(refused)) {
    t.log(`skip: ${refused}`);
    t.pass();
    return;
  }
  t.regex(refused, /`aya_made_up`.*no such member/);
  const err = t.throws(() => obj.structOps('made_up').register());
  t.true(err instanceof EbpfError && err.code === 'UNSUPPORTED', String(err));
  t.regex(err!.message, /aya_made_up/);
  // Zero, it is left out, and the rest (at the kernel's offsets, not the object's) registers.
  using zero = Ebpf.load(buildCSource(`struct_ops_made_up_zero_${process.pid}`, source(0)));
  using registration = zero.structOps('made_up').register();
  t.true(available().includes(`ayax${process.pid}`));
  registration.detach();
  t.false(available().includes(`ayax${process.pid}`));
});

ctest('weak kfuncs: bpf_ksym_exists reads 1 for one the kernel has and 0 for one it lacks, whose guarded call is dead code', (t) => {
  using obj = Ebpf.load(buildCObject('weak_kfuncs'), { globals: { target_tgid: { codec: codec.u32, value: process.pid } } });
  const run = obj.program('weak_kfuncs', SchedClassifier).testRun({ data: Buffer.alloc(64) });
  const seen = obj.map('.bss', ArrayMap, codec.struct({ present: codec.u64, absent: codec.u64, found: codec.u64, absentCalled: codec.u64 })).get(0)!;
  t.deepEqual(seen, { present: 1n, absent: 0n, found: 1n, absentCalled: 0n });
  t.is(run.returnValue, 1 | 4, 'the absent kfunc\'s branch did not run; bpf_task_from_pid found this process');
  // Called without the guard, the poisoned call is reachable: refused, naming libbpf's poison id.
  const err = t.throws(() => obj.program('unguarded').load());
  t.true(err instanceof VerifierError, String(err));
  t.regex((err as VerifierError).verifierLog, /invalid func unknown#2002000\d\d\d/);
});

ctest('typed ksyms that only a kernel module defines resolve through the module\'s BTF', (t) => {
  const modules = readdirSync('/sys/kernel/btf').filter((f) => f !== 'vmlinux');
  if (modules.length === 0) {
    t.log('skip: this kernel has no module BTF (/sys/kernel/btf holds only vmlinux)');
    t.pass();
    return;
  }
  // A variable some module's BTF has and vmlinux's does not (as `bpftool btf dump` lists them).
  const vmlinuxVars = new Set(varsOf('/sys/kernel/btf/vmlinux'));
  const found = modules.map((m) => [m, varsOf(`/sys/kernel/btf/${m}`).find((v) => !vmlinuxVars.has(v))] as const).find(([, v]) => v);
  if (!found) {
    t.log(`skip: no variable in the BTF of modules ${modules.join(', ')}`);
    t.pass();
    return;
  }
  const [module, name] = found;
  using obj = Ebpf.load(buildCSource(`module_ksym_${process.pid}`, [
    '#include "vmlinux.h"',
    '#include <bpf/bpf_helpers.h>',
    `extern const int ${name} __ksym;`,
    '__u64 out = 0;',
    `SEC("tracepoint/syscalls/sys_enter_getppid") int p(void *ctx) { out = (__u64)bpf_this_cpu_ptr(&${name}); return 0; }`,
    'char LICENSE[] SEC("license") = "GPL";',
  ].join('\n')));
  // The object loaded, so the name was found (in module `module`); the kernel accepts the
  // (module BTF fd, id) pair unless the verifier objects to the variable's type or kind.
  try {
    obj.program('p').load();
    t.pass(`${module}'s ${name} loaded`);
  } catch (err) {
    t.true(err instanceof VerifierError, String(err));
    t.notRegex((err as VerifierError).verifierLog, /invalid module BTF|invalid btf_id|isn't KIND_VAR/, `${module}'s ${name}`);
  }
});

/** The names of the VARs of a BTF file. */
function varsOf(path: string): string[] {
  const raw = execFileSync('bpftool', ['btf', 'dump', 'file', path, 'format', 'raw'], { encoding: 'utf8', maxBuffer: 256 << 20 });
  return [...raw.matchAll(/^\[\d+\] VAR '([^']+)'/gm)].map((m) => m[1]);
}

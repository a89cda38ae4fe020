import test from 'ava';
import { closeSync, openSync } from 'node:fs';
import {
  BtfTracePoint,
  bundledObjectPath,
  Ebpf,
  FEntry,
  FExit,
  NotFoundError,
  RawTracePoint,
  type EbpfError,
} from '../src';
import { kernelHasProgram, kernelLinks } from './helpers';
import { collect, eventually, noLinksOf, openatSyscallNumber, programTypeUnavailableReason, TestEvent, u32, u64 } from './programs-helpers';

const OPENAT = openatSyscallNumber();
const OPENS = 5;
// fentry/fexit are BPF_PROG_TYPE_TRACING programs attached through a trampoline.
const noTrampolines = programTypeUnavailableReason('tracing');
if (noTrampolines) console.log(`skip fentry/fexit: ${noTrampolines}`);

function openDevNull(times: number): void {
  for (let i = 0; i < times; i++) closeSync(openSync('/dev/null', 'r'));
}

for (const [family, object, program, cls] of [
  ['raw tracepoint', 'raw_tracepoint', 'raw_sys_enter', RawTracePoint],
  ['BTF tracepoint', 'btf_tracepoint', 'btf_sys_enter', BtfTracePoint],
] as const) {
  test(`${family} sys_enter counts this process's openat calls, and nothing after detach`, async (t) => {
    using obj = Ebpf.load(bundledObjectPath(object), {
      globals: { TARGET_TGID: u32(process.pid), TARGET_SYSCALL: u64(OPENAT) },
    });
    const prog = obj.program(program, cls as typeof RawTracePoint);
    t.is(prog.kind, cls.kind);
    t.false(prog.loaded, 'programs load on first attach');
    const events = obj.ringBuf('EVENTS', TestEvent);

    const link = prog.attach('sys_enter');
    t.true(prog.loaded);
    t.regex(prog.tag!, /^[0-9a-f]{16}$/);
    t.true(kernelLinks().some((l) => l.prog_id === prog.id), 'the kernel lists the link');

    openDevNull(OPENS);
    const seen = await collect(events, 300);
    t.true(seen.length >= OPENS, `saw ${seen.length} openat calls, made ${OPENS}`);
    t.true(seen.every((e) => e.tgid === process.pid && e.value === BigInt(OPENAT)));

    link.detach();
    t.false(link.attached);
    t.false(kernelLinks().some((l) => l.prog_id === prog.id), 'no link left after detach');
    // Opens by concurrent tests of this process before the detach may still be in the ring.
    await collect(events, 100);
    openDevNull(OPENS);
    t.deepEqual(await collect(events, 200), [], 'no events after detach');
  });
}

(noTrampolines ? test.skip : test)('fentry and fexit on do_sys_openat2 see the dirfd going in and the fd coming out', async (t) => {
  using obj = Ebpf.load(bundledObjectPath('fentry_fexit'), { globals: { TARGET_TGID: u32(process.pid) } });
  const events = obj.ringBuf('EVENTS', TestEvent);
  const entry = obj.program('openat_entry', FEntry).attach('do_sys_openat2');
  const exit = obj.program('openat_exit', FExit).attach('do_sys_openat2');
  t.is(entry.kind, 'fentry');
  t.is(exit.kind, 'fexit');

  const fds: number[] = [];
  for (let i = 0; i < OPENS; i++) {
    const fd = openSync('/dev/null', 'r');
    fds.push(fd);
  }
  fds.forEach((fd) => closeSync(fd));
  t.throws(() => openSync('/nonexistent/aya-node', 'r'));
  const seen = await collect(events, 300);

  const AT_FDCWD = -100n;
  const entries = seen.filter((e) => e.tag === 1);
  const returns = seen.filter((e) => e.tag === 2).map((e) => e.value);
  t.true(entries.length >= OPENS + 1, `saw ${entries.length} entries`);
  t.true(entries.some((e) => e.value === AT_FDCWD), 'openat(AT_FDCWD, ...) is seen as dfd -100');
  for (const fd of fds) t.true(returns.includes(BigInt(fd)), `fexit saw fd ${fd} returned`);
  t.true(returns.includes(-2n), 'fexit saw -ENOENT for the missing file');

  entry.detach();
  exit.detach();
  await collect(events, 100); // drain what came before the detach
  openDevNull(OPENS);
  t.deepEqual(await collect(events, 200), []);
});

test('an unknown kernel function is a NotFoundError and leaves nothing loaded or attached', (t) => {
  using obj = Ebpf.load(bundledObjectPath('fentry_fexit'), { globals: { TARGET_TGID: u32(process.pid) } });
  const missing = t.throws(() => obj.program('openat_entry', FEntry).attach('aya_node_no_such_function'));
  t.true(missing instanceof NotFoundError, String(missing));
  t.regex(missing!.message, /aya_node_no_such_function/);
  t.false(obj.program('openat_entry').loaded, 'nothing is loaded');
  t.true(noLinksOf(obj, 'openat_entry'), 'nothing is attached');
});

test('a BTF-targeted program stays on its first target', (t) => {
  using obj = Ebpf.load(bundledObjectPath('btf_tracepoint'), {
    globals: { TARGET_TGID: u32(process.pid), TARGET_SYSCALL: u64(OPENAT) },
  });
  const prog = obj.program('btf_sys_enter', BtfTracePoint);
  using _link = prog.attach('sys_enter');
  const other = t.throws(() => prog.attach('sys_exit'));
  t.is((other as EbpfError).code, 'INVALID_ARGUMENT');
  t.regex(other!.message, /sys_enter/);
  const missing = t.throws(() =>
    Ebpf.load(bundledObjectPath('btf_tracepoint')).program('btf_sys_enter', BtfTracePoint).attach('no_such_tracepoint'),
  );
  t.true(missing instanceof NotFoundError, String(missing));
});

test('closing the object detaches every link and unloads its programs', async (t) => {
  const obj = Ebpf.load(bundledObjectPath('raw_tracepoint'), {
    globals: { TARGET_TGID: u32(process.pid), TARGET_SYSCALL: u64(OPENAT) },
  });
  const prog = obj.program('raw_sys_enter', RawTracePoint);
  const link = prog.attach('sys_enter');
  const id = prog.id!;
  obj.close();
  t.false(link.attached);
  t.false(kernelLinks().some((l) => l.prog_id === id));
  t.true(await eventually(() => !kernelHasProgram(id)), 'the kernel freed the program');
});

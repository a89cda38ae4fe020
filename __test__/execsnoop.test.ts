import test from 'ava';
import { readFileSync } from 'node:fs';
import {
  bundledObjectPath,
  EbpfError,
  Ebpf,
  Execsnoop,
  ExecEvent,
  NotFoundError,
  RawTracePoint,
  type Exec,
} from '../src';
import { eventually, kernelHasProgram, kernelLinks, openBpfFds, run, start, uniqueTrue, within } from './helpers';
import { noLinksOf } from './programs-helpers';

/** Iterates `events` until one satisfies `match`, then breaks out of the loop. */
async function firstMatching<T>(events: AsyncIterable<T>, match: (ev: T) => boolean): Promise<T> {
  for await (const ev of events) {
    if (match(ev)) return ev;
  }
  throw new Error('the event stream ended before a matching event arrived');
}

test('an execve of a child yields an event with its pid, ppid, uid, comm, filename, argv and result', async (t) => {
  const target = uniqueTrue();
  t.teardown(target.cleanup);
  using snoop = Execsnoop.open();
  const seen = firstMatching(snoop, (ev: Exec) => ev.filename === target.path);
  const pid = await run(target.path, ['--flag', 'a b', 'x'.repeat(127)]);
  const ev = await within(5000, `exec of ${target.path}`, seen);
  t.is(ev.pid, pid);
  t.is(ev.ppid, process.pid, 'the child was forked by this process');
  t.is(ev.uid, process.getuid!());
  t.is(ev.filename, target.path);
  t.deepEqual(ev.argv, [target.path, '--flag', 'a b', 'x'.repeat(127)]);
  t.false(ev.argvTruncated);
  t.is(ev.retval, 0);
  t.is(ev.comm, readFileSync('/proc/self/comm', 'utf8').trim(), 'comm is the caller\'s, from before the exec');
});

test('a failed exec reports its errno, and long argument lists are marked truncated', async (t) => {
  using snoop = Execsnoop.open();
  const missing = `/nonexistent/aya-node-${process.pid}-${Date.now()}`;
  const failed = firstMatching(snoop, (ev: Exec) => ev.filename === missing);
  t.throws(() => require('node:child_process').execFileSync(missing, [], { stdio: 'ignore' }));
  const ev = await within(5000, 'the failed exec', failed);
  t.is(ev.retval, -2, 'ENOENT');

  const target = uniqueTrue();
  t.teardown(target.cleanup);
  const many = firstMatching(snoop, (e: Exec) => e.filename === target.path);
  const args = Array.from({ length: 30 }, (_, i) => `arg${i}`);
  await run(target.path, args);
  const long = await within(5000, 'the exec with 31 arguments', many);
  t.is(long.argv.length, 20);
  t.deepEqual(long.argv.slice(1), args.slice(0, 19));
  t.true(long.argvTruncated);
});

test('the pid and comm filters keep only matching executions', async (t) => {
  const target = uniqueTrue();
  t.teardown(target.cleanup);
  using byComm = Execsnoop.open({ comm: 'no-such-comm' });
  using all = Execsnoop.open();
  const unfiltered = firstMatching(all, (ev: Exec) => ev.filename === target.path);
  let filteredOut = false;
  const filtered = (async () => {
    for await (const ev of byComm) if (ev.filename === target.path) filteredOut = true;
  })();
  const child = start(target.path);
  await within(5000, 'the unfiltered event', unfiltered);
  byComm.close();
  await filtered;
  t.false(filteredOut, 'the comm filter dropped it');

  await child.exited;

  // The shell keeps its pid when it execs the target; another process's exec is filtered out.
  const other = uniqueTrue();
  t.teardown(other.cleanup);
  const shell = start('/bin/sh', ['-c', `sleep 0.5; exec ${target.path}`]);
  using byPid = Execsnoop.open({ pid: shell.pid });
  let sawOther = false;
  const mine = firstMatching(byPid, (ev: Exec) => {
    if (ev.filename === other.path) sawOther = true;
    return ev.filename === target.path;
  });
  await run(other.path);
  t.is((await within(5000, 'the filtered exec', mine)).pid, shell.pid);
  t.false(sawOther, 'the pid filter dropped the other process');
});

test('breaking out of the loop releases it, and iterating again sees new events', async (t) => {
  const first = uniqueTrue();
  const second = uniqueTrue();
  t.teardown(() => (first.cleanup(), second.cleanup()));
  using snoop = Execsnoop.open();

  const a = firstMatching(snoop, (ev: Exec) => ev.filename === first.path);
  const pidA = await run(first.path);
  t.is((await within(5000, 'first exec', a)).pid, pidA);

  const b = firstMatching(snoop, (ev: Exec) => ev.filename === second.path);
  const pidB = await run(second.path);
  t.is((await within(5000, 'second exec', b)).pid, pidB);
});

test('close() ends the iteration, detaches the link and unloads the program', async (t) => {
  const object = Ebpf.load(bundledObjectPath('execsnoop'));
  const program = object.program('execsnoop_enter', RawTracePoint);
  const link = program.attach('sys_enter');
  object.program('execsnoop_exit', RawTracePoint).attach('sys_exit');
  const events = object.ringBuf('EVENTS', ExecEvent);
  const id = program.id!;
  t.true(typeof id === 'number' && id > 0);
  t.true(link.attached);
  t.true(kernelLinks().some((l) => l.prog_id === id), 'the kernel lists a link for the program');

  const loop = (async () => {
    let n = 0;
    for await (const _ of events) n++;
    return n;
  })();
  await run('/bin/true');
  object.close();
  await within(2000, 'the loop to end after close()', loop);

  t.false(link.attached);
  t.true(events.closed);
  t.false(kernelLinks().some((l) => l.prog_id === id), 'no link of the program is left');
  // The kernel frees a detached program after an RCU grace period, not within close().
  await eventually(() => !kernelHasProgram(id), 2000);
  t.false(kernelHasProgram(id), 'the program is unloaded');
});

test('an AbortSignal stops a waiting loop with its reason', async (t) => {
  using snoop = Execsnoop.open();
  const controller = new AbortController();
  const loop = (async () => {
    for await (const _ of snoop.stream({ signal: controller.signal })) {
      // events of other processes may arrive; keep waiting
    }
  })();
  setTimeout(() => controller.abort(), 50);
  const err = await within(2000, 'abort', loop.then(() => 'the loop ended without an error', (e: unknown) => e));
  t.is((err as Error).name, 'AbortError');
  // The ring is free again for a new consumer.
  const target = uniqueTrue();
  t.teardown(target.cleanup);
  const seen = firstMatching(snoop, (ev: Exec) => ev.filename === target.path);
  await run(target.path);
  t.is((await within(5000, 'exec after abort', seen)).filename, target.path);
});

test('a second consumer of one ring buffer is a BUSY error', async (t) => {
  using snoop = Execsnoop.open();
  const controller = new AbortController();
  const first = snoop.stream({ signal: controller.signal });
  const pending = first.next();
  const second = snoop.stream();
  const err = await t.throwsAsync(second.next());
  t.true(err instanceof EbpfError);
  t.is((err as EbpfError).code, 'BUSY');
  controller.abort();
  // Events of other processes may have resolved the pending read already; either way the
  // first consumer must end with the abort.
  const end = await within(
    2000,
    'the first consumer to end',
    pending.then(async () => {
      for (;;) if ((await first.next()).done) return 'ended without an error';
    }).catch((e: unknown) => e),
  );
  t.is((end as Error).name, 'AbortError');
});

test('garbage bytes are a PARSE error, not a crash', (t) => {
  const err = t.throws(() => Ebpf.load(Buffer.from('definitely not an ELF file')));
  t.true(err instanceof EbpfError);
  t.is((err as EbpfError).code, 'PARSE');
  const truncated = readFileSync(bundledObjectPath('execsnoop')).subarray(0, 300);
  t.is((t.throws(() => Ebpf.load(truncated)) as EbpfError).code, 'PARSE');
});

test('a missing file, program or map is a NotFoundError naming it', (t) => {
  const noFile = t.throws(() => Ebpf.load('/nonexistent/object.bpf.o'));
  t.true(noFile instanceof NotFoundError);
  t.is((noFile as EbpfError).errnoName, 'ENOENT');

  using object = Ebpf.load(bundledObjectPath('execsnoop'));
  const noProgram = t.throws(() => object.program('no_such_program'));
  t.true(noProgram instanceof NotFoundError);
  t.regex(noProgram!.message, /no_such_program/);
  const noMap = t.throws(() => object.ringBuf('NO_SUCH_MAP'));
  t.true(noMap instanceof NotFoundError);
  t.regex(noMap!.message, /NO_SUCH_MAP/);
});

test('attaching to a tracepoint that does not exist fails with errno and leaves nothing attached', (t) => {
  using object = Ebpf.load(bundledObjectPath('execsnoop'));
  const err = t.throws(() => object.program('execsnoop_enter', RawTracePoint).attach('sys_enter_no_such_call'));
  t.true(err instanceof EbpfError);
  t.regex(err!.message, /sys_enter_no_such_call/);
  t.truthy((err as EbpfError).errno, 'the errno is carried');
  // Loaded by the attempt, so the kernel would list a link of it had one been left behind.
  // (Counting all of the kernel's links raced with test files running in parallel.)
  t.true(object.program('execsnoop_enter').loaded);
  t.true(noLinksOf(object, 'execsnoop_enter'));
});

test.serial('open and close cycles return the eBPF fd count to where it started', async (t) => {
  // Warm up once: the first load opens long-lived fds (e.g. tokio's epoll).
  Execsnoop.open().close();
  const start = openBpfFds();
  {
    using snoop = Execsnoop.open();
    t.true(openBpfFds() > start, 'an open tracer holds eBPF fds (so the count below can fail)');
  }
  for (let i = 0; i < 20; i++) {
    using snoop = Execsnoop.open();
    const target = uniqueTrue();
    const seen = firstMatching(snoop, (ev: Exec) => ev.filename === target.path);
    await run(target.path);
    await within(5000, 'exec', seen);
    target.cleanup();
  }
  t.is(openBpfFds(), start);
});

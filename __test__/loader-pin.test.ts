import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Ebpf, EbpfError, loadedLinks, loadedPrograms, NotFoundError, PinnedObject, TracePoint, unpin } from '../src';
import { objectPath } from './loader-packets';

/** A fresh directory on bpffs, removed (with its pins) after the test. */
function bpffsDir(t: { teardown(fn: () => void): void }): string {
  const dir = `/sys/fs/bpf/aya-node-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  mkdirSync(dir);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const bump = (obj: Ebpf): number => obj.program('bump_pinned').testRun({ data: Buffer.alloc(64) }).returnValue;

test('a pinned map keeps its contents across close and reload, and across a child Node process', (t) => {
  const dir = bpffsDir(t);
  {
    using obj = Ebpf.load(objectPath('loader_pinned'), { mapPinDirectory: dir });
    t.is(bump(obj), 1);
    t.is(bump(obj), 2);
  }
  {
    using obj = Ebpf.load(objectPath('loader_pinned'), { mapPinDirectory: dir });
    t.is(bump(obj), 3, 'the reloaded object reuses the pinned map');
  }
  const child = execFileSync(process.execPath, ['--import', 'tsx', join(__dirname, 'fixtures', 'bump-pinned.ts'), dir], {
    encoding: 'utf8',
  });
  t.is(child, '4', 'another Node process continues the count');
  using obj = Ebpf.load(objectPath('loader_pinned'), { mapPinDirectory: dir });
  t.is(bump(obj), 5);
  using pinned = PinnedObject.open(join(dir, 'PINNED_COUNT'));
  t.is(pinned.kind, 'map');
  // Without the pin directory the object gets a fresh map.
  using fresh = Ebpf.load(objectPath('loader_pinned'), { mapPinDirectory: bpffsDir(t) });
  t.is(bump(fresh), 1);
});

test('pin paths off bpffs are refused with a clear error', (t) => {
  using obj = Ebpf.load(objectPath('loader_test'));
  const err = t.throws(() => obj.program('count_packets').pin('/tmp/not-bpffs-pin'));
  t.true(err instanceof EbpfError);
  t.is((err as EbpfError).code, 'INVALID_ARGUMENT');
  t.regex(err!.message, /not on a BPF filesystem/);
  t.regex(err!.message, /\/tmp/);
  const noDir = t.throws(() => obj.pinMap('HITS', '/sys/fs/bpf/no-such-dir/x'));
  t.true(noDir instanceof NotFoundError, String(noDir));
});

test('a pinned program outlives its object until unpinned', (t) => {
  const dir = bpffsDir(t);
  const path = join(dir, 'count_packets');
  let id: number;
  {
    using obj = Ebpf.load(objectPath('loader_test'));
    const program = obj.program('count_packets');
    program.pin(path);
    id = program.id!;
    const dup = t.throws(() => program.pin(path));
    t.is((dup as EbpfError).errnoName, 'EEXIST');
  }
  t.true(loadedPrograms().some((p) => p.id === id), 'still loaded after close');
  const pinned = PinnedObject.open(path);
  t.is(pinned.kind, 'program');
  t.is(pinned.id, id);
  pinned.unpin();
  pinned.close();
  t.false(loadedPrograms().some((p) => p.id === id), 'unloaded once unpinned and closed');
  t.true(t.throws(() => PinnedObject.open(path)) instanceof NotFoundError);
});

test('a pinned map and a pinned link: the link keeps the program attached after close', (t) => {
  const dir = bpffsDir(t);
  let progId: number;
  {
    using obj = Ebpf.load(objectPath('loader_test'));
    obj.pinMap('HITS', join(dir, 'HITS'));
    const program = obj.program('tp_count', TracePoint);
    const link = program.attach('syscalls', 'sys_enter_getppid');
    progId = program.id!;
    link.pin(join(dir, 'link'));
  }
  t.true(loadedLinks().some((l) => l.programId === progId), 'the link survives the object');
  using map = PinnedObject.open(join(dir, 'HITS'));
  t.is(map.kind, 'map');
  const link = PinnedObject.open(join(dir, 'link'));
  t.is(link.kind, 'link');
  t.is(link.programId, progId);
  unpin(join(dir, 'link'));
  link.close();
  t.false(loadedLinks().some((l) => l.programId === progId), 'unpinned and closed: detached');
});

test('maps declared pinned are refused without mapPinDirectory: nothing is pinned in /sys/fs/bpf, no foreign pin reused', (t) => {
  // Before, Aya pinned them at /sys/fs/bpf/<NAME>, reusing whatever another application had
  // pinned under that name.
  const defaultPin = '/sys/fs/bpf/PINNED_COUNT';
  const existed = (() => {
    try {
      PinnedObject.open(defaultPin).close();
      return true;
    } catch {
      return false;
    }
  })();
  const err = t.throws(() => Ebpf.load(objectPath('loader_pinned')), { instanceOf: EbpfError });
  t.is(err?.code, 'INVALID_ARGUMENT');
  t.regex(err?.message ?? '', /pinned maps \(PINNED_COUNT\).*mapPinDirectory/);
  if (!existed) t.throws(() => PinnedObject.open(defaultPin), { instanceOf: NotFoundError }, 'nothing was pinned');
  // Objects without pinned maps load as before.
  t.notThrows(() => Ebpf.load(objectPath('loader_test')).close());
});

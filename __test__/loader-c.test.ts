import test from 'ava';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codec, Ebpf, EbpfError, TracePoint } from '../src';
import { buildCObject, cleanupCObjects, cSkipReason } from './c-objects';

const reason = cSkipReason;
if (reason) console.log(`skip: C/CO-RE tests: ${reason}`);

const work = mkdtempSync(join(tmpdir(), 'aya-node-c-'));
let object = '';
test.after.always(() => {
  rmSync(work, { recursive: true, force: true });
  cleanupCObjects();
});

/** Builds ebpf/c/loader_core.bpf.c as users build libbpf programs: vmlinux.h + clang -target bpf. */
function buildC(): void {
  object = buildCObject('loader_core');
}

/** The kernel's view of a hash map with u32 keys and u64 values (via bpftool). */
function dumpCounts(mapId: number): Map<number, bigint> {
  const entries = JSON.parse(execFileSync('bpftool', ['map', 'dump', 'id', String(mapId), '-j'], { encoding: 'utf8' })) as Array<{
    key: string[];
    value: string[];
  }>;
  const bytes = (hex: string[]) => Buffer.from(hex.map((h) => parseInt(h, 16)));
  return new Map(entries.map((e) => [bytes(e.key).readUInt32LE(0), bytes(e.value).readBigUInt64LE(0)]));
}

(reason ? test.skip : test)('a clang-built libbpf object loads: .maps, a .rodata global and a CO-RE read', (t) => {
  buildC();
  using obj = Ebpf.load(object, { globals: { target_tgid: { codec: codec.u32, value: process.pid } } });
  t.deepEqual(
    obj.maps.filter((m) => m.name === 'c_counts').map((m) => [m.kind, m.keySize, m.valueSize, m.maxEntries]),
    [['hash', 4, 8, 64]],
    'the BTF-defined map was created as declared',
  );
  const program = obj.program('count_getppid', TracePoint);
  program.attach('syscalls', 'sys_enter_getppid');
  for (let i = 0; i < 5; i++) void process.ppid; // each read is a getppid() syscall
  const mapId = program.info()!.mapIds.find((id) => execFileSync('bpftool', ['map', 'show', 'id', String(id)], { encoding: 'utf8' }).includes('c_counts'));
  t.truthy(mapId, 'the program uses c_counts');
  const counts = dumpCounts(mapId!);
  // The key is the tgid read through a CO-RE relocation from a made-up local offset: it is
  // this process's pid only if the loader relocated the read against the kernel's BTF.
  t.true((counts.get(process.pid) ?? 0n) >= 5n, `counts: ${[...counts].join(' ')}`);
  t.deepEqual([...counts.keys()], [process.pid], 'the .rodata filter let only this process through');
});

(reason ? test.skip : test)('a custom BTF path is used for CO-RE; an unreadable one is a typed error', (t) => {
  buildC();
  const btfCopy = join(work, 'vmlinux.btf');
  copyFileSync('/sys/kernel/btf/vmlinux', btfCopy);
  using obj = Ebpf.load(object, { btfPath: btfCopy });
  t.notThrows(() => obj.program('count_getppid').load());
  const garbage = join(work, 'garbage.btf');
  writeFileSync(garbage, 'not BTF at all');
  const err = t.throws(() => Ebpf.load(object, { btfPath: garbage }));
  t.true(err instanceof EbpfError, String(err));
  t.regex(err!.message, /garbage\.btf/);
});

import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundledObjectPath, Ebpf, EbpfError, KProbe, Lsm, structMemberOffset } from '../src';
import { bpfLsmUnavailableReason, collect, noLinksOf, programTypeUnavailableReason, TestEvent, u32, u64 } from './programs-helpers';

const lsmReason = bpfLsmUnavailableReason() ?? programTypeUnavailableReason('lsm');
if (lsmReason) console.log(`skip LSM: ${lsmReason}`);

(lsmReason ? test.skip : test)('an LSM file_open hook denies a child opening one file, and not after detach', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'aya-node-lsm-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'secret');
  writeFileSync(file, 'contents\n');
  using obj = Ebpf.load(bundledObjectPath('lsm_file_open'), {
    globals: {
      TARGET_INO: u64(statSync(file, { bigint: true }).ino),
      FILE_INODE_OFFSET: u32(structMemberOffset('file', 'f_inode')),
      INODE_INO_OFFSET: u32(structMemberOffset('inode', 'i_ino')),
    },
  });
  const events = obj.ringBuf('EVENTS', TestEvent);
  const link = obj.program('deny_file_open', Lsm).attach('file_open');
  const denied = spawnSync('cat', [file], { encoding: 'utf8' });
  t.not(denied.status, 0);
  t.regex(denied.stderr, /Operation not permitted/);
  t.true((await collect(events, 100)).some((e) => e.tgid === denied.pid), 'the child was seen');
  link.detach();
  t.is(spawnSync('cat', [file], { encoding: 'utf8' }).stdout, 'contents\n');
});

const kprobeReason = KProbe.unsupportedReason();
if (kprobeReason) console.log(`skip kprobe effect test: ${kprobeReason}`);

(kprobeReason ? test.skip : test)('a kretprobe on do_sys_openat2 sees the fd a child gets', async (t) => {
  using obj = Ebpf.load(bundledObjectPath('kprobe'));
  const events = obj.ringBuf('EVENTS', TestEvent);
  using _link = obj.program('kernel_function_return', KProbe).attach('do_sys_openat2');
  const child = spawnSync('cat', ['/dev/null']);
  t.true((await collect(events, 200)).some((e) => e.tgid === child.pid && e.value >= 0n));
});

(kprobeReason ? test : test.skip)('without kprobe support, attaching one is an UNSUPPORTED error and nothing is attached', (t) => {
  using obj = Ebpf.load(bundledObjectPath('kprobe'));
  const err = t.throws(() => obj.program('kernel_function_entry', KProbe).attach('do_sys_openat2'));
  t.true(err instanceof EbpfError);
  t.is((err as EbpfError).code, 'UNSUPPORTED');
  t.regex(err!.message, /kprobe/);
  t.true(noLinksOf(obj, 'kernel_function_entry'));
});

// `aya-node gen`: the type readers (ELF, BTF, DWARF), the code generator on hand-made types, and
// generated modules used for real: on a C object built with clang -g (nested structs, arrays,
// strings, an enum, padding, a ring buffer event, a struct key) decoding events the kernel sent,
// and on this repository's Rust objects, checked against their hand-written codecs.

import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { bundledObjectPath, codec, EbpfError, ExecEvent } from '../src';
import { generate } from '../src/project/codegen';
import type { CType } from '../src/project/ctypes';
import { demangleBtfName } from '../src/project/ctypes';
import { ElfFile } from '../src/project/elf';
import { ObjectInfo, readObject } from '../src/project/inspect';
import { ObjectBtf } from '../src/project/object-btf';
import { clangCheck, clangIncludeArgs, targetArchDefine } from '../src/project/toolchain';
import { requirementsUnmet, waitForEvent } from '../src/testing';
import { AllTypes } from './maps-helpers';

const repo = resolve(__dirname, '..');
// Generated modules are written inside the repository so that they can import ../../src.
const genDir = join(repo, '__test__', `.gen-${process.pid}`);
mkdirSync(genDir, { recursive: true });
test.after.always(() => rmSync(genDir, { recursive: true, force: true }));

let modules = 0;
/** Writes `source` as a module next to the tests and loads it (tsx compiles it). */
function loadModule(source: string): any {
  const file = join(genDir, `m${modules++}.ts`);
  writeFileSync(file, source);
  return require(file);
}

const u32: CType = { kind: 'int', name: 'u32', size: 4, signed: false, char: false, bool: false };
const u8: CType = { kind: 'int', name: 'u8', size: 1, signed: false, char: false, bool: false };
const i64: CType = { kind: 'int', name: 'i64', size: 8, signed: true, char: false, bool: false };
const char: CType = { kind: 'int', name: 'char', size: 1, signed: true, char: true, bool: false };
const struct = (name: string, size: number, members: Array<[string, number, CType, number?]>, union = false): CType => ({
  kind: 'struct', name, size, union, origin: 'test',
  members: members.map(([n, offset, type, bitSize]) => ({ name: n, offset, type, ...(bitSize ? { bitSize } : {}) })),
});

/** An ObjectInfo-shaped stand-in that knows only `types` (codegen reads nothing else for --type). */
function fakeObject(types: Record<string, CType>): ObjectInfo {
  return { path: 'fake.o', btf: undefined, dwarf: undefined, programs: [], maps: [], globals: [], type: (n: string) => (types[n] ? { type: types[n], source: 'dwarf' } : undefined) } as unknown as ObjectInfo;
}

test('codegen: padding that alignment does not explain is explicit, nested structs come first, char arrays are strings', (t) => {
  const inner = struct('Inner', 16, [['a', 0, u8], ['b', 8, i64]]);
  const outer = struct('Outer', 48, [['x', 0, u32], ['inner', 8, inner], ['name', 24, { kind: 'array', element: char, length: 5 }], ['raw', 29, { kind: 'array', element: u8, length: 3 }], ['tail', 32, u32]]);
  const { source, structs } = generate(fakeObject({ Outer: outer }), { types: ['Outer'], importFrom: '../../src' });
  t.deepEqual(structs.map((s) => [s.name, s.size]), [['Inner', 16], ['Outer', 48]]);
  t.true(source.indexOf('export const Inner') < source.indexOf('export const Outer'));
  const m = loadModule(source);
  t.is(m.Outer.size, 48);
  // Alignment explains the gap after x; the 12 bytes at the end it does not: explicit padding.
  t.deepEqual(m.Outer.offsets, { x: 0, inner: 8, name: 24, raw: 29, tail: 32, _pad0: 36 });
  const value = { x: 1, inner: { a: 2, b: -3n }, name: 'abcde', raw: Buffer.from([1, 2, 3]), tail: 7 };
  t.deepEqual(m.Outer.decode(m.Outer.encode(value)), value);
});

test('codegen: Rust byte arrays become strings when listed, enums become constants', (t) => {
  const kind: CType = { kind: 'enum', name: 'Kind', size: 4, signed: true, values: [{ name: 'A', value: 1n }, { name: 'B', value: -2n }] };
  const ev = struct('Ev', 32, [['comm', 0, { kind: 'array', element: u8, length: 16 }], ['args', 16, { kind: 'array', element: { kind: 'array', element: u8, length: 4 }, length: 3 }], ['kind', 28, kind]]);
  const { source } = generate(fakeObject({ Ev: ev }), { types: ['Ev'], strings: ['Ev.comm', 'Ev.args'], importFrom: '../../src' });
  const m = loadModule(source);
  t.deepEqual(m.Kind, { A: 1, B: -2 });
  const value = { comm: 'bash', args: ['a', 'bc', 'def'], kind: m.Kind.B };
  t.deepEqual(m.Ev.decode(m.Ev.encode(value)), value);
  t.throws(() => generate(fakeObject({ Ev: ev }), { types: ['Ev'], strings: ['Ev.kind'] }), { message: /cannot generate Ev\.kind: listed as a string but it is enum Kind/ });
  t.throws(() => generate(fakeObject({ Ev: ev }), { types: ['Ev'], strings: ['Ev.comn'] }), { message: /strings: Ev\.comn matched no member of a generated struct/ });
});

test('codegen: bit fields, unions, packed structs and unknown types fail naming the member', (t) => {
  const gen = (type: CType) => () => generate(fakeObject({ T: type }), { types: ['T'] });
  t.throws(gen(struct('T', 4, [['flags', 0, u32, 3]])), { instanceOf: EbpfError, message: /cannot generate T\.flags: a 3-bit bit field/ });
  t.throws(gen(struct('T', 8, [['a', 0, u32]], true)), { message: /cannot generate struct T: unions have no codec/ });
  t.throws(gen(struct('T', 12, [['a', 0, u32], ['b', 4, i64]])), { message: /cannot generate T\.b: member at offset 4 is not 8-byte aligned \(packed structs/ });
  t.throws(gen(struct('T', 8, [['a', 0, { kind: 'unsupported', name: 'Opt', why: 'Opt is a Rust enum with data' }]])), { message: /cannot generate T\.a: Opt is a Rust enum with data/ });
  t.throws(() => generate(fakeObject({}), { types: ['Nope'] }), { message: /--type Nope: no type named Nope in fake\.o/ });
});

test('BTF reader: a hand-made blob with an int, a struct, an array, an enum and a typedef', (t) => {
  const strings = Buffer.from('\0u32\0pt\0x\0ys\0kind\0A\0pt_t\0');
  const at = (s: string) => strings.indexOf(Buffer.from(`\0${s}\0`)) + 1;
  const words: number[] = [];
  const type = (name: number, kind: number, vlen: number, sizeOrType: number, ...extra: number[]) => words.push(name, (kind << 24) | vlen, sizeOrType, ...extra);
  type(at('u32'), 1, 0, 4, 32); // [1] INT u32
  type(0, 3, 0, 0, 1, 1, 3); // [2] ARRAY u32[3]
  type(at('kind'), 6, 1, 4, at('A'), 7); // [3] ENUM kind { A = 7 }
  type(at('pt'), 4, 3, 20, at('x'), 1, 0, at('ys'), 2, 32, at('kind'), 3, 128); // [4] STRUCT pt
  type(at('pt_t'), 8, 0, 4); // [5] TYPEDEF pt_t -> pt
  const types = Buffer.alloc(words.length * 4);
  words.forEach((w, i) => types.writeUInt32LE(w >>> 0, i * 4));
  const header = Buffer.alloc(24);
  header.writeUInt16LE(0xeb9f, 0);
  header[2] = 1;
  header.writeUInt32LE(24, 4);
  header.writeUInt32LE(0, 8);
  header.writeUInt32LE(types.length, 12);
  header.writeUInt32LE(types.length, 16);
  header.writeUInt32LE(strings.length, 20);
  const btf = new ObjectBtf(Buffer.concat([header, types, strings]));
  const pt = btf.named('pt_t');
  t.like(pt, { kind: 'struct', name: 'pt', size: 20 });
  t.deepEqual((pt as Extract<CType, { kind: 'struct' }>).members.map((m) => [m.name, m.offset, m.type.kind]), [['x', 0, 'int'], ['ys', 4, 'array'], ['kind', 16, 'enum']]);
  t.throws(() => new ObjectBtf(Buffer.from('not btf at all, not at all')), { message: /no BTF header/ });
});

test('ELF reader: not an ELF file, and Rust generic names spelt out', (t) => {
  t.throws(() => new ElfFile(Buffer.from('#!/bin/sh\necho hello, this is not an object file\n'), 'x.o'), { instanceOf: EbpfError, message: /x\.o: not an ELF file/ });
  t.is(demangleBtfName('HashMap_3C_u32_2C__20_u64_3E_'), 'HashMap<u32, u64>');
  t.throws(() => readObject('/nonexistent/x.o'), { message: /cannot read the object \/nonexistent\/x\.o/ });
});

test("Rust objects: DWARF gives the structs BTF leaves out, matching this repository's hand-written codecs", (t) => {
  const maps = readObject(bundledObjectPath('maps_test'));
  t.is(maps.btf?.named('AllTypes'), undefined, 'bpf-linker BTF has no AllTypes');
  const all = generate(maps, { types: ['AllTypes'], strings: ['AllTypes.name', 'AllTypes.short'], importFrom: '../../src' });
  const m = loadModule(all.source);
  t.is(m.AllTypes.size, AllTypes.size);
  for (const [field, offset] of Object.entries(AllTypes.offsets)) t.is(m.AllTypes.offsets[field], offset, field);
  // Each map as its class, with codecs from the Rust map's type parameters.
  for (const line of [
    'ALL_TYPES: once(() => ebpf.map("ALL_TYPES", aya.ArrayMap, AllTypes))',
    'PER_CPU_HASH: once(() => ebpf.map("PER_CPU_HASH", aya.PerCpuHashMap, codec.u32, codec.u64))',
    'ROUTES: once(() => ebpf.map("ROUTES", aya.LpmTrie, codec.bytes(4), codec.u32))',
    'QUEUE: once(() => ebpf.map("QUEUE", aya.Queue, codec.u32))',
    'STACKS: once(() => ebpf.map("STACKS", aya.StackTraceMap))',
    'JUMP_TABLE: once(() => ebpf.map("JUMP_TABLE", aya.ProgramArray))',
  ]) {
    t.true(all.source.includes(line), line);
  }

  const exec = readObject(bundledObjectPath('execsnoop'));
  const e = generate(exec, { types: ['ExecEvent'], strings: ['ExecEvent.comm', 'ExecEvent.filename', 'ExecEvent.args'], importFrom: '../../src' });
  const em = loadModule(e.source);
  t.is(em.ExecEvent.size, ExecEvent.size);
  t.deepEqual(em.ExecEvent.offsets, ExecEvent.offsets);
  // The map's key and value types come from the Rust map's type parameters.
  t.regex(e.source, /PENDING: once\(\(\) => ebpf\.map\("PENDING", aya\.HashMap, codec\.u32, ExecEvent\)\)/);
  t.regex(e.source, /get execsnoop_enter\(\): aya\.RawTracePoint/);
  t.regex(e.source, /TASK_TGID_OFFSET\?: number;/);
});

const clang = clangCheck();
const cUnmet = !clang.path ? 'clang is not installed (scripts/setup.sh installs clang-22)' : requirementsUnmet({ root: true, programTypes: ['tracepoint'], mapTypes: ['ringbuf'], tracefs: true });

(cUnmet ? test.skip : test)(`C object (clang -g): generated codecs decode the kernel's events and a struct-keyed map${cUnmet ? ` (skipped: ${cUnmet})` : ''}`, async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'aya-node-gen-c-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const object = join(work, 'gen_types.bpf.o');
  execFileSync(clang.path!, ['-O2', '-g', '-target', 'bpf', targetArchDefine(), ...clangIncludeArgs(), '-c', join(repo, 'ebpf', 'c', 'gen_types.bpf.c'), '-o', object]);
  const info = readObject(object);
  const { source, structs } = generate(info, { types: ['gen_event'], importFrom: '../../src' });
  t.deepEqual(structs.map((s) => [s.name, s.size]), [['gen_point', 16], ['gen_inner', 40], ['gen_event', 104], ['gen_key', 8]]);
  // BTF has the map's key struct; the event (only behind a pointer in the code) comes from DWARF.
  t.deepEqual(structs.map((s) => s.source), ['DWARF', 'DWARF', 'DWARF', 'BTF']);
  const m = loadModule(source);
  t.deepEqual(m.gen_kind, { GEN_KIND_EXEC: 1, GEN_KIND_EXIT: 2, GEN_KIND_NEGATIVE: -3 });

  using loaded = m.load(object, { globals: { target_tgid: process.pid } });
  loaded.programs.gen_getppid.attach('syscalls', 'sys_enter_getppid');
  const events = loaded.maps.gen_events();
  const seen = waitForEvent(events, (e: any) => e.tgid === process.pid, { timeout: 5000 });
  // A getppid(2) from this process: the program only reports target_tgid.
  void process.ppid;
  const event = await seen;
  t.deepEqual(event, {
    tgid: process.pid,
    kind: m.gen_kind.GEN_KIND_NEGATIVE,
    comm: readFileSync('/proc/self/comm', 'utf8').trim(),
    tag: 'abcd',
    ts: 0x1122334455667788n,
    inner: { points: [{ x: 1, y: -2n }, { x: 65535, y: -4000000000n }], flags: 7 },
    values: [-1, 0, 2147483647],
    ok: true,
    mac: Buffer.from([2, 0, 0, 0, 0, 0xab]),
  });
  t.deepEqual(loaded.maps.gen_last().get({ tgid: process.pid, slot: 9 }), event.inner);
});

(cUnmet ? test.skip : test)(`size guard: an event whose size differs from its codec is an error naming both sizes${cUnmet ? ` (skipped: ${cUnmet})` : ''}`, async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'aya-node-gen-c-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const object = join(work, 'gen_types.bpf.o');
  execFileSync(clang.path!, ['-O2', '-g', '-target', 'bpf', targetArchDefine(), ...clangIncludeArgs(), '-c', join(repo, 'ebpf', 'c', 'gen_types.bpf.c'), '-o', object]);
  const { Ebpf, TracePoint } = await import('../src');
  using obj = Ebpf.load(object, { globals: { target_tgid: { codec: codec.u32, value: process.pid } } });
  obj.program('gen_getppid', TracePoint).attach('syscalls', 'sys_enter_getppid');
  // An out-of-date codec: the C struct gained fields since it was written (104 bytes now).
  const stale = codec.struct({ tgid: codec.u32, kind: codec.i32, comm: codec.cstring(16) });
  const ring = obj.ringBuf('gen_events', stale);
  void process.ppid;
  const err = await t.throwsAsync(waitForEvent(ring, () => true, { timeout: 5000 }), { instanceOf: EbpfError });
  t.regex(err!.message, /a 104-byte event does not match its codec .* \(24 bytes\)/);
});

// USDT (user statically-defined tracing) probes: the sites sys/sdt.h leaves in a binary,
// listed in its `.note.stapsdt` ELF notes with their address, an optional semaphore (a
// counter the program checks before preparing the probe's arguments) and an argument spec
// per site such as `-4@%edi 8@-16(%rbp)`. A `Usdt` program is an aya-ebpf `#[uprobe]`; each
// site gets its own attachment whose BPF cookie keys its parsed argument spec in the
// program's spec map, which `aya_node_ebpf::usdt` reads.

import { accessSync, closeSync, constants, openSync, readFileSync, readSync, readdirSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { array, i64, struct, u16, u32, u64, u8, type Infer } from '../codec';
import { EM_AARCH64, EM_X86_64, ET_EXEC, cString, fileOffsetOf, notes, parseElf } from '../elf';
import { ebpfError, invalidArgument } from '../errors';
import { Link } from '../link';
import { HashMap } from '../maps';
import type * as native from '../native';
import { UProbe } from './uprobe';
import * as validate from '../validate';

/** Where one probe argument is (one word of the note's argument string). */
export interface UsdtArgSpec {
  /** `const`: the value is `value`; `reg`: in `register`; `deref`: in memory at `register` + `value`. */
  kind: 'const' | 'reg' | 'deref';
  /** Width in bytes. */
  size: 1 | 2 | 4 | 8;
  signed: boolean;
  /** The 64-bit register's pt_regs name (`di`, `r12`, `x0`, `sp`...) for `reg` and `deref`. */
  register?: string;
  /** Byte offset of the register in the architecture's `struct pt_regs`. */
  regOffset?: number;
  /** The constant, or the displacement of a `deref`. */
  value: bigint;
}

export type UsdtArch = 'x86_64' | 'aarch64';

/** One probe site from `.note.stapsdt`. */
export interface UsdtProbe {
  provider: string;
  name: string;
  /** The file it is in. */
  path: string;
  /** Virtual address of the site (adjusted for prelinking). */
  address: bigint;
  /** File offset of the site (what the kernel's uprobe takes). */
  offset: bigint;
  /** Virtual address of the semaphore (0 when the probe has none). */
  semaphore: bigint;
  /** File offset of the semaphore (0 when none). */
  semaphoreOffset: bigint;
  /** The note's argument string, e.g. `8@%rbp 8@%r12 -4@%eax`. */
  argString: string;
  /** The file's architecture (how to read `argString`). */
  arch: UsdtArch;
  /**
   * Whether the file loads at an address chosen at run time (a PIE executable or a shared
   * library, ET_DYN): then `address` is relative to where a process mapped it.
   */
  positionIndependent: boolean;
}

const USDT_MAX_ARGS = 12;
const NT_STAPSDT = 3;
/** Files read for notes at most. */
const MAX_ELF_BYTES = 1024 * 1024 * 1024;

// x86-64 `struct pt_regs` order.
const X86_ORDER = ['r15', 'r14', 'r13', 'r12', 'bp', 'bx', 'r11', 'r10', 'r9', 'r8', 'ax', 'cx', 'dx', 'si', 'di', 'orig_ax', 'ip', 'cs', 'flags', 'sp', 'ss'];
/** Every spelling of an x86-64 general register (64/32/16/8-bit) to its pt_regs name. */
const X86_NAMES = new Map<string, string>();
for (const r of ['ax', 'bx', 'cx', 'dx']) for (const n of [`r${r}`, `e${r}`, r, `${r[0]}l`]) X86_NAMES.set(n, r);
for (const r of ['si', 'di', 'bp', 'sp']) for (const n of [`r${r}`, `e${r}`, r, `${r}l`]) X86_NAMES.set(n, r);
for (let i = 8; i <= 15; i++) for (const n of [`r${i}`, `r${i}d`, `r${i}w`, `r${i}b`]) X86_NAMES.set(n, `r${i}`);

/** arm64 `struct user_pt_regs`: x0..x30, sp, pc. */
function arm64RegOffset(name: string): number | undefined {
  if (name === 'sp') return 31 * 8;
  const m = /^[xw](\d+)$/.exec(name);
  if (m && Number(m[1]) <= 30) return Number(m[1]) * 8;
  return undefined;
}

/**
 * Parses one argument of a USDT note, e.g. `-4@%edi`, `8@-16(%rbp)`, `4@$5` (x86-64) or
 * `-4@x0`, `8@[sp, 16]`, `4@5` (arm64). Throws `EbpfError('PARSE')` on anything else.
 */
export function parseUsdtArg(text: string, arch: UsdtArch = 'x86_64'): UsdtArgSpec {
  if (typeof text !== 'string') throw new TypeError('parseUsdtArg: `text` must be a string');
  if (arch !== 'x86_64' && arch !== 'aarch64') throw new RangeError('parseUsdtArg: `arch` must be x86_64 or aarch64');
  const fail = (why: string) => ebpfError('PARSE', `USDT argument \`${text}\`: ${why}`);
  const m = /^(-?)(1|2|4|8)@(.+)$/.exec(text.trim());
  if (!m) throw fail('expected SIZE@LOCATION with a size of 1, 2, 4 or 8 (negative when signed)');
  const signed = m[1] === '-';
  const size = Number(m[2]) as 1 | 2 | 4 | 8;
  const loc = m[3];
  const num = (s: string) => {
    if (!/^[-+]?(0x[0-9a-fA-F]+|\d+)$/.test(s)) throw fail(`\`${s}\` is not a number`);
    const v = BigInt(s.replace(/^[-+]/, ''));
    return s.startsWith('-') ? -v : v;
  };
  let x: RegExpExecArray | null;
  if (arch === 'x86_64') {
    const reg = (name: string) => {
      const r = X86_NAMES.get(name);
      if (r === undefined) throw fail(`unsupported register %${name}`);
      return { register: r, regOffset: X86_ORDER.indexOf(r) * 8 };
    };
    if ((x = /^\$(.+)$/.exec(loc))) return { kind: 'const', size, signed, value: num(x[1]) };
    if ((x = /^%([a-z0-9]+)$/.exec(loc))) return { kind: 'reg', size, signed, value: 0n, ...reg(x[1]) };
    if ((x = /^([-+]?(?:0x[0-9a-fA-F]+|\d+))?\(%([a-z0-9]+)\)$/.exec(loc))) {
      return { kind: 'deref', size, signed, value: x[1] === undefined ? 0n : num(x[1]), ...reg(x[2]) };
    }
    throw fail('unsupported location (expected $CONST, %REG or OFFSET(%REG))');
  }
  const reg = (name: string) => {
    const off = arm64RegOffset(name);
    if (off === undefined) throw fail(`unsupported register ${name}`);
    return { register: name.replace(/^w/, 'x'), regOffset: off };
  };
  if ((x = /^([xw]\d+|sp)$/.exec(loc))) return { kind: 'reg', size, signed, value: 0n, ...reg(x[1]) };
  if ((x = /^\[([xw]\d+|sp)(?:,\s*#?([-+]?(?:0x[0-9a-fA-F]+|\d+)))?\]$/.exec(loc))) {
    return { kind: 'deref', size, signed, value: x[2] === undefined ? 0n : num(x[2]), ...reg(x[1]) };
  }
  if ((x = /^#?([-+]?(?:0x[0-9a-fA-F]+|\d+))$/.exec(loc))) return { kind: 'const', size, signed, value: num(x[1]) };
  throw fail('unsupported location (expected CONST, xN, [xN] or [xN, OFFSET])');
}

/** Parses a note's whole argument string (space-separated; empty for a probe without arguments). */
export function parseUsdtArgs(text: string, arch: UsdtArch = 'x86_64'): UsdtArgSpec[] {
  if (typeof text !== 'string') throw new TypeError('parseUsdtArgs: `text` must be a string');
  // arm64 memory operands have a space after the comma: split outside brackets only.
  const words = text.trim() === '' ? [] : (text.trim().match(/(?:\[[^\]]*\]|\S)+/g) ?? []);
  if (words.length > USDT_MAX_ARGS) throw ebpfError('PARSE', `USDT argument string has ${words.length} arguments, at most ${USDT_MAX_ARGS} are supported`);
  return words.map((w) => parseUsdtArg(w, arch));
}

function archOf(machine: number, path: string): UsdtArch {
  if (machine === EM_X86_64) return 'x86_64';
  if (machine === EM_AARCH64) return 'aarch64';
  throw ebpfError('UNSUPPORTED', `${path}: USDT arguments are supported on x86-64 and arm64 binaries (e_machine ${machine})`);
}

/** The USDT probes of an ELF file (`.note.stapsdt`), with file offsets of sites and semaphores. */
export function usdtProbes(path: string): UsdtProbe[] {
  if (typeof path !== 'string' || path === '') throw new TypeError('usdtProbes: `path` must be a non-empty string');
  // A FIFO or device would block the event loop while it is read.
  const stat = statSync(path, { throwIfNoEntry: false });
  if (stat && !stat.isFile()) throw invalidArgument(`usdtProbes: ${path} is not a regular file`);
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (err) {
    throw ebpfError('NOT_FOUND', `cannot read ${path}: ${(err as Error).message}`);
  }
  if (data.length > MAX_ELF_BYTES) throw ebpfError('UNSUPPORTED', `${path} is larger than ${MAX_ELF_BYTES} bytes`);
  const elf = parseElf(data);
  if (!elf) throw ebpfError('PARSE', `${path} is not a 64-bit little-endian ELF file`);
  const arch = archOf(elf.machine, path);
  const positionIndependent = elf.type !== ET_EXEC;
  // sys/sdt.h records the address of `.stapsdt.base` at link time; if the file was prelinked,
  // the section moved and every address in the notes moves by the same amount.
  const baseSection = elf.sections.find((s) => s.name === '.stapsdt.base');
  const out: UsdtProbe[] = [];
  for (const note of notes(elf, '.note.stapsdt')) {
    if (note.owner !== 'stapsdt' || note.type !== NT_STAPSDT || note.desc.length < 24 + 3) continue;
    let pc = note.desc.readBigUInt64LE(0);
    const base = note.desc.readBigUInt64LE(8);
    let semaphore = note.desc.readBigUInt64LE(16);
    const provider = cString(note.desc, 24);
    const nameStart = 24 + Buffer.byteLength(provider) + 1;
    const name = cString(note.desc, nameStart);
    const argString = cString(note.desc, nameStart + Buffer.byteLength(name) + 1);
    if (baseSection && base !== 0n) {
      pc += baseSection.addr - base;
      if (semaphore !== 0n) semaphore += baseSection.addr - base;
    }
    const offset = fileOffsetOf(elf, pc);
    if (offset === undefined) continue;
    const semaphoreOffset = semaphore === 0n ? 0n : (fileOffsetOf(elf, semaphore) ?? 0n);
    out.push({ provider, name, path, address: pc, offset, semaphore, semaphoreOffset, argString, arch, positionIndependent });
  }
  return out;
}

/**
 * The file a USDT target names: a path; a library name (`libpython3.11`, `python3.11`) found
 * in the process's mappings when `pid` is given, else in the usual library directories; or
 * an executable name found on PATH.
 */
export function resolveUsdtTarget(target: string, pid?: number): string {
  if (typeof target !== 'string' || target === '') throw new TypeError('resolveUsdtTarget: `target` must be a non-empty string');
  if (target.includes('/')) return realpathOr(target);
  const matches = (file: string) => {
    const base = file.split('/').pop() ?? '';
    return [target, `lib${target}`].some((t) => base === t || base.startsWith(`${t}.`) || base.startsWith(`${t}-`));
  };
  if (pid !== undefined) {
    try {
      for (const line of readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
        const path = line.trim().split(/\s+/).slice(5).join(' ');
        if (path.startsWith('/') && matches(path)) return path;
      }
      const exe = readlinkSync(`/proc/${pid}/exe`);
      if (matches(exe)) return exe;
    } catch {
      // not readable: fall through to the system's paths
    }
  }
  const inLibraryDirs = () => {
    const dirs = ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib/aarch64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/lib64', '/usr/lib64', '/usr/lib', '/usr/local/lib'];
    for (const dir of dirs) {
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        continue;
      }
      // `libc.so` next to `libc.so.6` may be a linker script: the first ELF file wins.
      for (const hit of names.filter((n) => n.includes('.so') && matches(n)).sort()) {
        try {
          const real = realpathSync(join(dir, hit));
          if (isElf(real)) return real;
        } catch {
          // a dangling link: try the next
        }
      }
    }
    return undefined;
  };
  const onPath = () => {
    for (const dir of (process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(delimiter)) {
      const candidate = join(dir, target);
      try {
        accessSync(candidate, constants.X_OK);
        const real = realpathSync(candidate);
        if (isElf(real)) return real; // not a wrapper script (pyenv shims, for one)
      } catch {
        // not here
      }
    }
    return undefined;
  };
  // `libc`, `libssl.so.3`: a library; `python3`, `node`: an executable first.
  const found = target.startsWith('lib') || target.includes('.so') ? (inLibraryDirs() ?? onPath()) : (onPath() ?? inLibraryDirs());
  if (found) return found;
  throw ebpfError('NOT_FOUND', `no binary or library named \`${target}\` (give a path${pid === undefined ? ', or a pid whose mappings have it' : ''})`);
}

function isElf(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return false;
  }
  try {
    const magic = Buffer.alloc(4);
    return readSync(fd, magic, 0, 4, 0) === 4 && magic.readUInt32BE(0) === 0x7f454c46;
  } catch {
    return false; // a directory, say
  } finally {
    closeSync(fd);
  }
}

function realpathOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    throw ebpfError('NOT_FOUND', `no such file: ${path}`);
  }
}

/** Layout of `aya_node_common::usdt::UsdtArg` and `UsdtSpec`. */
const UsdtArgCodec = struct({ valOff: i64, kind: u8, signed: u8, size: u8, _pad: u8, regOff: u16, _pad2: u16 });
const UsdtSpecCodec = struct({ args: array(UsdtArgCodec, USDT_MAX_ARGS), argCount: u32, _pad: u32, userCookie: u64 });
const KIND_CODES = { const: 0, reg: 1, deref: 2 } as const;

/** Where `Usdt.attach` attaches. */
export interface UsdtTarget {
  /** The binary or library: a path, a library name (`libc`, `python3.11`) or an executable on PATH. */
  target: string;
  provider: string;
  /** The probe's name, e.g. `function__entry`. */
  name: string;
  /** Only this process (it also helps find a library by name in its mappings). */
  pid?: number;
  /** The program's `HashMap<u32, UsdtSpec>` of argument specs (default `USDT_SPECS`). */
  specMap?: string;
  /** A value the program can read as `spec.user_cookie`. */
  cookie?: bigint;
}

/** Per object: the next spec id (the cookie of the next site attached). */
const nextSpecId = new WeakMap<object, number>();

/** The sites of one USDT probe, checked and with their arguments parsed. @internal */
export interface UsdtSites {
  path: string;
  /** `path:provider:name (pid N)`, for link targets and messages. */
  where: string;
  sites: Array<{ site: UsdtProbe; args: UsdtArgSpec[] }>;
}

/**
 * Validates a USDT attach request (`what` names the program in errors) and finds every site
 * of the probe, checked before anything touches the kernel: a site that cannot be served
 * fails the whole attach. @internal
 */
export function findUsdtSites(what: string, u: UsdtTarget): UsdtSites {
  // Wrong types and ranges are TypeError/RangeError naming the field, as everywhere else.
  if (u === null || typeof u !== 'object' || Array.isArray(u)) throw new TypeError(`${what}: the argument must be an object { target, provider, name, pid? }, got ${u === null ? 'null' : Array.isArray(u) ? 'an array' : typeof u}`);
  for (const key of ['target', 'provider', 'name'] as const) validate.name(`${what}: options.${key}`, u[key]);
  if (u.pid !== undefined) validate.integer(`${what}: options.pid`, u.pid, 1, 0xffffffff);
  if (u.cookie !== undefined) {
    if (typeof u.cookie !== 'bigint') throw new TypeError(`${what}: options.cookie must be a bigint, got ${typeof u.cookie}`);
    if (u.cookie < 0n || u.cookie >= 1n << 64n) throw new RangeError(`${what}: options.cookie must be a bigint from 0 to 2^64-1, got ${u.cookie}n`);
  }
  const path = resolveUsdtTarget(u.target, u.pid);
  const all = usdtProbes(path);
  const sites = all.filter((p) => p.provider === u.provider && p.name === u.name);
  if (sites.length === 0) {
    const known = [...new Set(all.map((p) => `${p.provider}:${p.name}`))];
    throw ebpfError('NOT_FOUND', `no USDT probe ${u.provider}:${u.name} in ${path} (${known.length === 0 ? 'it has no USDT probes' : `it has ${known.join(', ')}`})`);
  }
  const unplaced = sites.find((site) => site.semaphore !== 0n && site.semaphoreOffset === 0n);
  if (unplaced) {
    throw ebpfError('UNSUPPORTED', `${path}: the semaphore of ${u.provider}:${u.name} (0x${unplaced.semaphore.toString(16)}) is not in a segment backed by the file`);
  }
  return {
    path,
    where: `${path}:${u.provider}:${u.name}${u.pid === undefined ? '' : ` (pid ${u.pid})`}`,
    sites: sites.map((site) => ({ site, args: parseUsdtArgs(site.argString, site.arch) })),
  };
}

/**
 * Attaches `program` at every site with the cookie given for it (and its semaphore), as one
 * `UsdtLink` whose detach also runs `forget`. @internal
 */
export function attachUsdtSites(
  attachAs: (target: string, attach: (object: native.EbpfObject) => native.Link, make: (link: native.Link) => UsdtLink) => UsdtLink,
  program: string,
  found: UsdtSites,
  pid: number | undefined,
  cookies: readonly bigint[],
  forget: () => void,
): UsdtLink {
  const target = `usdt ${found.where}`;
  return attachAs(
    target,
    (object) =>
      object.attachUsdt(program, {
        path: found.path,
        pid,
        sites: found.sites.map(({ site }, i) => ({ offset: site.offset, refCtrOffset: site.semaphoreOffset, cookie: cookies[i] })),
      }),
    (link) => new UsdtLink(link, program, target, forget),
  );
}

/**
 * A USDT probe program: an aya-ebpf `#[uprobe]` attached to every site of one USDT probe,
 * with the probe's semaphore counted up while attached (the kernel's uprobe reference
 * counter, undone on detach) and each site's argument spec in the program's spec map, where
 * `aya_node_ebpf::usdt::spec(&ctx, &USDT_SPECS)` finds it. (A C program written against
 * libbpf's `usdt.bpf.h` attaches with `LibbpfUsdt`.)
 *
 * ```ts
 * obj.program('usdt_calls', Usdt).attach({ target: '/usr/bin/python3', provider: 'python', name: 'function__entry', pid });
 * ```
 */
export class Usdt extends UProbe {
  /** The spec maps opened so far, by name (one handle each, however many attaches). */
  readonly #specs = new Map<string, HashMap<number, Infer<typeof UsdtSpecCodec>>>();

  /** Attaches to every site of `provider:name` in `target`; one link detaches them all. */
  override attach(u: UsdtTarget): Link {
    const found = findUsdtSites(`usdt \`${this.name}\``, u);
    const specMap = u.specMap ?? 'USDT_SPECS';
    let specs = this.#specs.get(specMap);
    if (!specs) this.#specs.set(specMap, (specs = this.owner.map(specMap, HashMap, u32, UsdtSpecCodec)));
    const specsMap = specs;
    const written: number[] = [];
    const forget = () => {
      for (const id of written) {
        try {
          specsMap.delete(id);
        } catch {
          // the object (and its maps) may be closed already
        }
      }
    };
    try {
      for (const entry of found.sites) {
        const id = nextSpecId.get(this.owner) ?? 1;
        nextSpecId.set(this.owner, id + 1);
        const args = Array.from({ length: USDT_MAX_ARGS }, (_, i) => {
          const a = entry.args[i];
          return a
            ? { valOff: a.value, kind: KIND_CODES[a.kind], signed: a.signed ? 1 : 0, size: a.size, _pad: 0, regOff: a.regOffset ?? 0, _pad2: 0 }
            : { valOff: 0n, kind: 0, signed: 0, size: 0, _pad: 0, regOff: 0, _pad2: 0 };
        });
        specsMap.set(id, { args, argCount: entry.args.length, _pad: 0, userCookie: u.cookie ?? 0n });
        written.push(id);
      }
      return attachUsdtSites(this.attachAs.bind(this), this.name, found, u.pid, written.map(BigInt), forget);
    } catch (err) {
      forget();
      throw err;
    }
  }
}

/** The link of a USDT attachment (every site of the probe); detaching also drops their specs. */
export class UsdtLink extends Link {
  readonly #forget: () => void;

  /** @internal */
  constructor(link: native.Link, program: string, target: string, forget: () => void) {
    super(link, program, target);
    this.#forget = forget;
  }

  override detach(): void {
    const was = this.attached;
    super.detach();
    if (was) this.#forget();
  }
}

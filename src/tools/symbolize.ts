// User-space symbols for stack addresses: /proc/<pid>/maps to find the file and offset, then
// the ELF's .symtab (or .dynsym) for the function containing it.

import { readFileSync } from 'node:fs';
import { functionSymbols, parseElf, vaddrOf, type ElfImage, type ElfSymbol } from '../elf';
import { demangle, isMangled } from './demangle';
import { PerfMap } from './perf-map';

interface Mapping {
  start: bigint;
  end: bigint;
  offset: bigint;
  path: string;
}

/** What symbolization keeps of a file (not its bytes). */
interface ElfFile {
  elf: Pick<ElfImage, 'loads'>;
  symbols: ElfSymbol[];
}

const elfCache = new Map<string, ElfFile | null>();
/** ELF files kept parsed at most (each holds its symbols). */
const ELF_CACHE_LIMIT = 256;

/** The load segments and function symbols of an ELF file, cached by path. */
function readElf(path: string): ElfFile | null {
  if (elfCache.has(path)) return elfCache.get(path)!;
  let file: ElfFile | null = null;
  try {
    const elf = parseElf(readFileSync(path));
    if (elf) file = { elf: { loads: elf.loads }, symbols: functionSymbols(elf) };
  } catch {
    file = null;
  }
  if (elfCache.size >= ELF_CACHE_LIMIT) elfCache.clear();
  elfCache.set(path, file);
  return file;
}

/** The executable mappings of a process (empty if it is gone). */
export function processMappings(pid: number): Mapping[] {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/maps`, 'utf8');
  } catch {
    return [];
  }
  const out: Mapping[] = [];
  for (const line of text.split('\n')) {
    const [range, perms, offset, , , ...rest] = line.trim().split(/\s+/);
    const path = rest.join(' ');
    if (!range || !perms?.includes('x') || !path.startsWith('/')) continue;
    const [start, end] = range.split('-').map((h) => BigInt(`0x${h}`));
    out.push({ start, end, offset: BigInt(`0x${offset}`), path });
  }
  return out;
}

/** One resolved stack frame. */
export interface Frame {
  /** Function name (demangled), or `module+0xoffset`, or the hex address. */
  name: string;
  /** `js` (V8 JavaScript from the perf map), `jit` (other perf-map code), `native`, `kernel`, `process` (the comm at the root) or `unknown`. */
  kind: 'js' | 'jit' | 'native' | 'kernel' | 'process' | 'unknown';
  /** The ELF file or `[perf-map]`. */
  module?: string;
  file?: string;
  line?: number;
  column?: number;
}

/** How a frame reads in folded stacks: the name, then `(file:line:col)` for JavaScript. */
export function frameLabel(frame: Frame): string {
  if (frame.file === undefined) return frame.name;
  const pos = frame.line === undefined ? '' : `:${frame.line}${frame.column === undefined ? '' : `:${frame.column}`}`;
  return `${frame.name} (${frame.file}${pos})`;
}

/**
 * Resolves the user-space addresses of one process: JIT code through its perf map (re-read as
 * it grows), the rest through the ELF symbols of the file mapped there.
 */
export class UserSymbolizer {
  readonly pid: number;
  #mappings: Mapping[];
  #perfMap: PerfMap | undefined;

  constructor(pid: number) {
    this.pid = pid;
    this.#mappings = processMappings(pid);
    this.#perfMap = PerfMap.forPid(pid);
  }

  /** The process's perf map, if it has one. */
  get perfMap(): PerfMap | undefined {
    return this.#perfMap;
  }

  /** Picks up what changed since: new perf-map lines (or a perf map that appeared) and new mappings. */
  refresh(): void {
    const mappings = processMappings(this.pid);
    if (mappings.length > 0) this.#mappings = mappings; // keep the last view of a process that exited
    if (this.#perfMap) this.#perfMap.refresh();
    else this.#perfMap = PerfMap.forPid(this.pid);
  }

  /** Frames for `addresses`, innermost first (as the kernel lists them). */
  resolve(addresses: bigint[]): Frame[] {
    const frames = addresses.map((addr) => this.#resolveOne(addr));
    const mangled = frames.filter((f) => f.kind === 'native' && isMangled(f.name));
    if (mangled.length > 0) {
      const names = demangle(mangled.map((f) => f.name));
      mangled.forEach((f, i) => (f.name = names[i]));
    }
    return frames;
  }

  #resolveOne(addr: bigint): Frame {
    const jit = this.#perfMap?.lookup(addr);
    if (jit) {
      const frame: Frame = { name: jit.name, kind: jit.kind === 'JS' ? 'js' : 'jit', module: '[perf-map]' };
      if (jit.kind !== 'JS' && jit.kind !== '') frame.name = `${jit.kind}:${jit.name}`;
      if (jit.file !== undefined) frame.file = jit.file;
      if (jit.line !== undefined) frame.line = jit.line;
      if (jit.column !== undefined) frame.column = jit.column;
      return frame;
    }
    const m = this.#mappings.find((x) => addr >= x.start && addr < x.end);
    if (!m) return { name: `0x${addr.toString(16)}`, kind: 'unknown' };
    const fileOffset = addr - m.start + m.offset;
    const file = readElf(m.path);
    const vaddr = file ? vaddrOf(file.elf, fileOffset) : undefined;
    const module = m.path.split('/').pop() ?? m.path;
    if (file && vaddr !== undefined) {
      const sym = findSymbol(file.symbols, vaddr);
      if (sym) return { name: sym.name, kind: 'native', module };
    }
    return { name: `${module}+0x${fileOffset.toString(16)}`, kind: 'native', module };
  }
}

/** The symbol containing `vaddr`: binary search over symbols sorted by start, then a short look back for aliases. */
function findSymbol(symbols: ElfSymbol[], vaddr: bigint): ElfSymbol | undefined {
  let lo = 0;
  let hi = symbols.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (symbols[mid].start <= vaddr) lo = mid + 1;
    else hi = mid - 1;
  }
  for (let i = hi; i >= 0 && i > hi - 16; i--) {
    if (vaddr < symbols[i].end) return symbols[i];
  }
  return undefined;
}

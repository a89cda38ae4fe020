// User-space symbols for stack addresses: /proc/<pid>/maps to find the file and offset, then
// the ELF's .symtab (or .dynsym) for the function containing it.

import { readFileSync } from 'node:fs';

interface ElfSymbol {
  start: bigint;
  end: bigint;
  name: string;
}

interface Mapping {
  start: bigint;
  end: bigint;
  offset: bigint;
  path: string;
}

interface ElfFile {
  /** PT_LOAD segments: file offset to virtual address. */
  loads: Array<{ offset: bigint; vaddr: bigint; size: bigint }>;
  symbols: ElfSymbol[];
}

const elfCache = new Map<string, ElfFile | null>();

/** Reads the function symbols and load segments of a 64-bit little-endian ELF file. */
function readElf(path: string): ElfFile | null {
  if (elfCache.has(path)) return elfCache.get(path)!;
  let elf: ElfFile | null = null;
  try {
    const b = readFileSync(path);
    if (b.readUInt32BE(0) === 0x7f454c46 && b[4] === 2 && b[5] === 1) {
      const phoff = Number(b.readBigUInt64LE(0x20));
      const shoff = Number(b.readBigUInt64LE(0x28));
      const phentsize = b.readUInt16LE(0x36);
      const phnum = b.readUInt16LE(0x38);
      const shentsize = b.readUInt16LE(0x3a);
      const shnum = b.readUInt16LE(0x3c);
      const loads: ElfFile['loads'] = [];
      for (let i = 0; i < phnum; i++) {
        const p = phoff + i * phentsize;
        if (b.readUInt32LE(p) !== 1 /* PT_LOAD */) continue;
        loads.push({ offset: b.readBigUInt64LE(p + 8), vaddr: b.readBigUInt64LE(p + 16), size: b.readBigUInt64LE(p + 40) });
      }
      const sections = Array.from({ length: shnum }, (_, i) => {
        const s = shoff + i * shentsize;
        return { type: b.readUInt32LE(s + 4), offset: Number(b.readBigUInt64LE(s + 24)), size: Number(b.readBigUInt64LE(s + 32)), link: b.readUInt32LE(s + 40), entsize: Number(b.readBigUInt64LE(s + 56)) };
      });
      const symtab = sections.find((s) => s.type === 2 /* SHT_SYMTAB */) ?? sections.find((s) => s.type === 11 /* SHT_DYNSYM */);
      const symbols: ElfSymbol[] = [];
      if (symtab && symtab.entsize > 0) {
        const strtab = sections[symtab.link];
        for (let off = symtab.offset; off + 24 <= symtab.offset + symtab.size; off += symtab.entsize) {
          const info = b[off + 4];
          const value = b.readBigUInt64LE(off + 8);
          if ((info & 0xf) !== 2 /* STT_FUNC */ || value === 0n) continue;
          const nameOff = strtab.offset + b.readUInt32LE(off);
          const name = b.toString('utf8', nameOff, b.indexOf(0, nameOff));
          const size = b.readBigUInt64LE(off + 16);
          symbols.push({ start: value, end: value + (size > 0n ? size : 1n), name });
        }
      }
      symbols.sort((x, y) => (x.start < y.start ? -1 : x.start > y.start ? 1 : 0));
      elf = { loads, symbols };
    }
  } catch {
    elf = null;
  }
  elfCache.set(path, elf);
  return elf;
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

/** `function` (or `file+0xoff`, or the hex address) for each user address of `pid`. */
export function symbolizeUser(addresses: bigint[], mappings: Mapping[]): string[] {
  return addresses.map((addr) => {
    const m = mappings.find((x) => addr >= x.start && addr < x.end);
    if (!m) return `0x${addr.toString(16)}`;
    const fileOffset = addr - m.start + m.offset;
    const elf = readElf(m.path);
    const load = elf?.loads.find((l) => fileOffset >= l.offset && fileOffset < l.offset + l.size);
    if (elf && load) {
      const vaddr = fileOffset - load.offset + load.vaddr;
      const sym = elf.symbols.find((s) => vaddr >= s.start && vaddr < s.end);
      if (sym) return sym.name;
    }
    return `${m.path.split('/').pop()}+0x${fileOffset.toString(16)}`;
  });
}

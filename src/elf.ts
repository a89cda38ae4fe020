// The few parts of 64-bit little-endian ELF files user space needs: load segments (address
// to file offset), sections by name, function symbols and notes. Bounds are checked against
// the file, so a truncated or hostile file gives an error or nothing, never a huge allocation.

export interface ElfSection {
  name: string;
  type: number;
  addr: bigint;
  offset: number;
  size: number;
  link: number;
  entsize: number;
}

export interface ElfLoad {
  offset: bigint;
  vaddr: bigint;
  /** Size in the file. */
  size: bigint;
}

export interface ElfImage {
  data: Buffer;
  /** e_machine: 62 = x86-64, 183 = AArch64. */
  machine: number;
  /** e_type: 2 = ET_EXEC (loads at its link addresses), 3 = ET_DYN (PIE or shared library). */
  type: number;
  loads: ElfLoad[];
  sections: ElfSection[];
}

export const ET_EXEC = 2;
export const EM_X86_64 = 62;
export const EM_AARCH64 = 183;

/** Parses the headers of an ELF64 LE image; undefined when it is not one (or is malformed). */
export function parseElf(data: Buffer): ElfImage | undefined {
  if (data.length < 64 || data.readUInt32BE(0) !== 0x7f454c46 || data[4] !== 2 || data[5] !== 1) return undefined;
  const inFile = (off: number, len: number) => off >= 0 && len >= 0 && off + len <= data.length;
  const type = data.readUInt16LE(0x10);
  const machine = data.readUInt16LE(0x12);
  const phoff = Number(data.readBigUInt64LE(0x20));
  const shoff = Number(data.readBigUInt64LE(0x28));
  const phentsize = data.readUInt16LE(0x36);
  const phnum = data.readUInt16LE(0x38);
  const shentsize = data.readUInt16LE(0x3a);
  const shnum = data.readUInt16LE(0x3c);
  const shstrndx = data.readUInt16LE(0x3e);
  const loads: ElfLoad[] = [];
  if (phentsize >= 56 && inFile(phoff, phnum * phentsize)) {
    for (let i = 0; i < phnum; i++) {
      const p = phoff + i * phentsize;
      if (data.readUInt32LE(p) !== 1 /* PT_LOAD */) continue;
      loads.push({ offset: data.readBigUInt64LE(p + 8), vaddr: data.readBigUInt64LE(p + 16), size: data.readBigUInt64LE(p + 32) });
    }
  }
  const sections: ElfSection[] = [];
  if (shentsize >= 64 && inFile(shoff, shnum * shentsize)) {
    for (let i = 0; i < shnum; i++) {
      const s = shoff + i * shentsize;
      sections.push({
        name: '',
        type: data.readUInt32LE(s + 4),
        addr: data.readBigUInt64LE(s + 16),
        offset: Number(data.readBigUInt64LE(s + 24)),
        size: Number(data.readBigUInt64LE(s + 32)),
        link: data.readUInt32LE(s + 40),
        entsize: Number(data.readBigUInt64LE(s + 56)),
      });
    }
    const names = sections[shstrndx];
    if (names && inFile(names.offset, names.size)) {
      for (let i = 0; i < shnum; i++) {
        const nameOff = data.readUInt32LE(shoff + i * shentsize);
        sections[i].name = cString(data, names.offset + nameOff, names.offset + names.size);
      }
    }
  }
  return { data, machine, type, loads, sections };
}

/** The NUL-terminated string at `start` (not past `end`). */
export function cString(data: Buffer, start: number, end = data.length): string {
  if (start < 0 || start >= Math.min(end, data.length)) return '';
  const nul = data.indexOf(0, start);
  return data.toString('utf8', start, nul < 0 || nul > end ? Math.min(end, data.length) : nul);
}

/** File offset of virtual address `vaddr` through the load segment containing it. */
export function fileOffsetOf(elf: Pick<ElfImage, 'loads'>, vaddr: bigint): bigint | undefined {
  const load = elf.loads.find((l) => vaddr >= l.vaddr && vaddr < l.vaddr + l.size);
  return load ? vaddr - load.vaddr + load.offset : undefined;
}

/** Virtual address of file offset `offset` through the load segment containing it. */
export function vaddrOf(elf: Pick<ElfImage, 'loads'>, offset: bigint): bigint | undefined {
  const load = elf.loads.find((l) => offset >= l.offset && offset < l.offset + l.size);
  return load ? offset - load.offset + load.vaddr : undefined;
}

export interface ElfSymbol {
  start: bigint;
  end: bigint;
  name: string;
}

/** Function symbols of `.symtab` (or `.dynsym` when stripped), sorted by address. */
export function functionSymbols(elf: ElfImage): ElfSymbol[] {
  const { data, sections } = elf;
  const symtab = sections.find((s) => s.type === 2 /* SHT_SYMTAB */) ?? sections.find((s) => s.type === 11 /* SHT_DYNSYM */);
  const symbols: ElfSymbol[] = [];
  const strtab = symtab ? sections[symtab.link] : undefined;
  if (!symtab || !strtab || symtab.entsize < 24 || symtab.offset + symtab.size > data.length) return symbols;
  for (let off = symtab.offset; off + 24 <= symtab.offset + symtab.size; off += symtab.entsize) {
    const info = data[off + 4];
    const value = data.readBigUInt64LE(off + 8);
    if ((info & 0xf) !== 2 /* STT_FUNC */ || value === 0n) continue;
    const name = cString(data, strtab.offset + data.readUInt32LE(off), strtab.offset + strtab.size);
    const size = data.readBigUInt64LE(off + 16);
    symbols.push({ start: value, end: value + (size > 0n ? size : 1n), name });
  }
  return symbols.sort((x, y) => (x.start < y.start ? -1 : x.start > y.start ? 1 : 0));
}

/** The notes of section `name`: owner, type and descriptor bytes of each. */
export function notes(elf: ElfImage, name: string): Array<{ owner: string; type: number; desc: Buffer }> {
  const section = elf.sections.find((s) => s.name === name && s.type === 7 /* SHT_NOTE */);
  const out: Array<{ owner: string; type: number; desc: Buffer }> = [];
  if (!section || section.offset + section.size > elf.data.length) return out;
  const align4 = (n: number) => (n + 3) & ~3;
  let p = section.offset;
  const end = section.offset + section.size;
  while (p + 12 <= end) {
    const namesz = elf.data.readUInt32LE(p);
    const descsz = elf.data.readUInt32LE(p + 4);
    const type = elf.data.readUInt32LE(p + 8);
    const nameStart = p + 12;
    const descStart = nameStart + align4(namesz);
    if (descStart + descsz > end) break;
    out.push({ owner: cString(elf.data, nameStart, nameStart + namesz), type, desc: elf.data.subarray(descStart, descStart + descsz) });
    p = descStart + align4(descsz);
  }
  return out;
}

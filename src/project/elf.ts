// Just enough of ELF64 little-endian to read an eBPF object: its sections, its symbols and the
// relocations of its debug sections. Every offset read is checked against the file's length.

import { EbpfError } from '../errors';

export interface Section {
  index: number;
  name: string;
  type: number;
  offset: number;
  size: number;
  link: number;
  info: number;
  data: Buffer;
}

export interface ElfSymbol {
  name: string;
  value: number;
  size: number;
  /** STT_* (low 4 bits of st_info). */
  type: number;
  /** STB_* (high 4 bits of st_info). */
  binding: number;
  sectionIndex: number;
}

const SHT_SYMTAB = 2;
const SHT_REL = 9;
export const STT_OBJECT = 1;
export const STT_FUNC = 2;

export class ElfFile {
  readonly sections: Section[] = [];
  readonly symbols: ElfSymbol[] = [];

  constructor(readonly bytes: Buffer, readonly path = '<bytes>') {
    if (bytes.length < 64 || bytes.readUInt32BE(0) !== 0x7f454c46) this.fail('not an ELF file');
    if (bytes[4] !== 2 || bytes[5] !== 1) this.fail('not a 64-bit little-endian ELF file (eBPF objects are bpfel)');
    const shoff = Number(bytes.readBigUInt64LE(0x28));
    const shentsize = bytes.readUInt16LE(0x3a);
    const shnum = bytes.readUInt16LE(0x3c);
    const shstrndx = bytes.readUInt16LE(0x3e);
    if (shentsize < 64 || shoff + shnum * shentsize > bytes.length) this.fail('section headers out of bounds');
    const raw = [];
    for (let i = 0; i < shnum; i++) {
      const at = shoff + i * shentsize;
      raw.push({
        nameOffset: bytes.readUInt32LE(at),
        type: bytes.readUInt32LE(at + 4),
        offset: Number(bytes.readBigUInt64LE(at + 0x18)),
        size: Number(bytes.readBigUInt64LE(at + 0x20)),
        link: bytes.readUInt32LE(at + 0x28),
        info: bytes.readUInt32LE(at + 0x2c),
      });
    }
    const names = raw[shstrndx];
    if (!names) this.fail('no section name table');
    for (const [index, s] of raw.entries()) {
      // SHT_NOBITS (.bss) has a size but no bytes in the file.
      const data = s.type === 8 ? Buffer.alloc(0) : this.slice(s.offset, s.size);
      this.sections.push({ index, name: this.cstr(names.offset, s.nameOffset, names.size), type: s.type, offset: s.offset, size: s.size, link: s.link, info: s.info, data });
    }
    const symtab = this.sections.find((s) => s.type === SHT_SYMTAB);
    if (symtab) {
      const strtab = this.sections[symtab.link];
      for (let at = 24; at + 24 <= symtab.data.length; at += 24) {
        const d = symtab.data;
        const info = d[at + 4];
        this.symbols.push({
          name: strtab ? this.cstr(strtab.offset, d.readUInt32LE(at), strtab.size) : '',
          type: info & 0xf,
          binding: info >> 4,
          sectionIndex: d.readUInt16LE(at + 6),
          value: Number(d.readBigUInt64LE(at + 8)),
          size: Number(d.readBigUInt64LE(at + 16)),
        });
      }
    }
  }

  section(name: string): Section | undefined {
    return this.sections.find((s) => s.name === name);
  }

  /**
   * The bytes of section `name` with its REL relocations applied (symbol value + the addend
   * stored in place), as a debugger sees them; absent sections give undefined.
   */
  relocated(name: string): Buffer | undefined {
    const target = this.section(name);
    if (!target) return undefined;
    const data = Buffer.from(target.data);
    for (const rel of this.sections) {
      if (rel.type !== SHT_REL || rel.info !== target.index) continue;
      for (let at = 0; at + 16 <= rel.data.length; at += 16) {
        const offset = Number(rel.data.readBigUInt64LE(at));
        const info = rel.data.readBigUInt64LE(at + 8);
        const type = Number(info & 0xffffffffn);
        const symbol = this.symbols[Number(info >> 32n) - 1];
        const value = symbol?.value ?? 0;
        // R_BPF_64_ABS64 (2) and R_BPF_64_ABS32 (3) are what debug sections use.
        if (type === 2 && offset + 8 <= data.length) data.writeBigUInt64LE(BigInt.asUintN(64, data.readBigUInt64LE(offset) + BigInt(value)), offset);
        else if (type === 3 && offset + 4 <= data.length) data.writeUInt32LE((data.readUInt32LE(offset) + value) >>> 0, offset);
      }
    }
    return data;
  }

  private slice(offset: number, size: number): Buffer {
    if (offset + size > this.bytes.length) this.fail(`a section runs past the end of the file`);
    return this.bytes.subarray(offset, offset + size);
  }

  private cstr(base: number, offset: number, limit: number): string {
    if (offset >= limit) return '';
    const start = base + offset;
    const end = this.bytes.indexOf(0, start);
    return this.bytes.toString('utf8', start, end === -1 ? base + limit : Math.min(end, base + limit));
  }

  private fail(why: string): never {
    throw new EbpfError('PARSE', `${this.path}: ${why}`);
  }
}

// Reading struct, enum and base types out of an object's DWARF (.debug_info, versions 4 and 5).
// Rust eBPF objects need it: bpf-linker's BTF holds the maps and globals but not the structs
// that a ring buffer or a map's values carry; the debug info (`debug = 2`) has all of them.

import { EbpfError } from '../errors';
import type { CMember, CType, TypeTable } from './ctypes';
import type { ElfFile } from './elf';

const TAG = {
  array: 0x01, enumeration: 0x04, member: 0x0d, pointer: 0x0f, compileUnit: 0x11, structure: 0x13, subroutine: 0x15, typedef: 0x16,
  union: 0x17, subrange: 0x21, baseType: 0x24, const: 0x26, enumerator: 0x28, templateType: 0x2f, variantPart: 0x33, variable: 0x34,
  volatile: 0x35, namespace: 0x39, restrict: 0x37, atomic: 0x47,
} as const;
const AT = {
  name: 0x03, byteSize: 0x0b, bitSize: 0x0d, constValue: 0x1c, upperBound: 0x2f, count: 0x37, dataMemberLocation: 0x38, declaration: 0x3c,
  encoding: 0x3e, type: 0x49, dataBitOffset: 0x6b, strOffsetsBase: 0x72,
} as const;
const ATE = { boolean: 0x02, float: 0x04, signed: 0x05, signedChar: 0x06, unsigned: 0x07, unsignedChar: 0x08, utf: 0x10 } as const;

interface Die {
  offset: number;
  tag: number;
  attrs: Map<number, number | bigint | string>;
  children: Die[];
  parent?: Die;
}

interface Abbrev {
  tag: number;
  hasChildren: boolean;
  specs: Array<[attr: number, form: number, implicit: number]>;
}

/** Bounds the work a corrupt or hostile object can cause. */
const MAX_DIES = 2_000_000;

class Reader {
  constructor(readonly buf: Buffer, public at = 0) {}
  u8(): number { this.need(1); return this.buf[this.at++]; }
  u16(): number { this.need(2); const v = this.buf.readUInt16LE(this.at); this.at += 2; return v; }
  u32(): number { this.need(4); const v = this.buf.readUInt32LE(this.at); this.at += 4; return v; }
  u64(): bigint { this.need(8); const v = this.buf.readBigUInt64LE(this.at); this.at += 8; return v; }
  uleb(): number {
    let result = 0; let shift = 0; let byte;
    do { byte = this.u8(); if (shift < 53) result += (byte & 0x7f) * 2 ** shift; shift += 7; } while (byte & 0x80);
    return result;
  }
  sleb(): number {
    let result = 0; let shift = 0; let byte;
    do { byte = this.u8(); if (shift < 53) result += (byte & 0x7f) * 2 ** shift; shift += 7; } while (byte & 0x80);
    if (shift < 53 && byte & 0x40) result -= 2 ** shift;
    return result;
  }
  cstr(): string {
    const end = this.buf.indexOf(0, this.at);
    if (end === -1) throw bad('an unterminated string');
    const s = this.buf.toString('utf8', this.at, end);
    this.at = end + 1;
    return s;
  }
  skip(n: number): void { this.need(n); this.at += n; }
  need(n: number): void { if (this.at + n > this.buf.length) throw bad('data past the end of a section'); }
}

const bad = (what: string) => new EbpfError('PARSE', `DWARF: ${what}`);

export class ObjectDwarf implements TypeTable {
  readonly source = 'dwarf' as const;
  readonly #dies = new Map<number, Die>();
  readonly #resolved = new Map<number, CType>();
  /** Top-level DIEs (children of each compile unit). */
  readonly #roots: Die[] = [];

  /** undefined when the object has no .debug_info. */
  static from(elf: ElfFile): ObjectDwarf | undefined {
    const info = elf.relocated('.debug_info');
    const abbrev = elf.section('.debug_abbrev')?.data;
    if (!info || !abbrev) return undefined;
    return new ObjectDwarf(info, abbrev, elf.section('.debug_str')?.data, elf.relocated('.debug_str_offsets'), elf.section('.debug_line_str')?.data);
  }

  constructor(info: Buffer, abbrevs: Buffer, private readonly str: Buffer = Buffer.alloc(0), private readonly strOffsets: Buffer = Buffer.alloc(0), private readonly lineStr: Buffer = Buffer.alloc(0)) {
    const r = new Reader(info);
    while (r.at + 11 <= info.length) {
      const unitStart = r.at;
      const length = r.u32();
      if (length >= 0xfffffff0) throw bad('64-bit DWARF is not supported');
      const end = r.at + length;
      const version = r.u16();
      let abbrevOffset: number;
      let addrSize: number;
      if (version >= 5) {
        const unitType = r.u8();
        addrSize = r.u8();
        abbrevOffset = r.u32();
        if (unitType === 2 || unitType === 6) r.skip(12); // type units: signature + type offset
        else if (unitType === 4 || unitType === 5) r.skip(8); // skeleton/split: dwo id
      } else if (version >= 2) {
        abbrevOffset = r.u32();
        addrSize = r.u8();
      } else {
        throw bad(`unit version ${version}`);
      }
      const table = parseAbbrevs(abbrevs, abbrevOffset);
      const unit = { start: unitStart, version, addrSize, strOffsetsBase: 8 };
      const stack: Die[] = [];
      const unitDies: Die[] = [];
      while (r.at < end) {
        const offset = r.at;
        const code = r.uleb();
        if (code === 0) {
          stack.pop();
          continue;
        }
        const abbrev = table.get(code);
        if (!abbrev) throw bad(`unknown abbreviation ${code} at 0x${offset.toString(16)}`);
        const die: Die = { offset, tag: abbrev.tag, attrs: new Map(), children: [], parent: stack[stack.length - 1] };
        for (const [attr, form, implicit] of abbrev.specs) {
          const value = this.#readForm(r, form, implicit, unit);
          if (value !== undefined) die.attrs.set(attr, value);
        }
        if (die.tag === TAG.compileUnit && typeof die.attrs.get(AT.strOffsetsBase) === 'number') unit.strOffsetsBase = die.attrs.get(AT.strOffsetsBase) as number;
        if (this.#dies.size >= MAX_DIES) throw bad(`more than ${MAX_DIES} entries`);
        this.#dies.set(offset, die);
        unitDies.push(die);
        if (die.parent) die.parent.children.push(die);
        if (die.parent?.tag === TAG.compileUnit) this.#roots.push(die);
        if (abbrev.hasChildren) stack.push(die);
      }
      // Strings by index (DWARF 5) are resolved once the unit's str_offsets_base is known.
      for (const die of unitDies) {
        for (const [attr, value] of die.attrs) {
          if (typeof value === 'string' && value.startsWith('\0strx:')) die.attrs.set(attr, this.#strx(Number(value.slice(6)), unit.strOffsetsBase));
        }
      }
      r.at = end;
    }
  }

  #readForm(r: Reader, form: number, implicit: number, unit: { start: number; version: number; addrSize: number }): number | bigint | string | undefined {
    switch (form) {
      case 0x01: return unit.addrSize === 8 ? r.u64() : r.u32(); // addr
      case 0x03: r.skip(r.u16()); return undefined; // block2
      case 0x04: r.skip(r.u32()); return undefined; // block4
      case 0x05: return r.u16(); // data2
      case 0x06: return r.u32(); // data4
      case 0x07: return r.u64(); // data8
      case 0x08: return r.cstr(); // string
      case 0x09: case 0x18: { // block, exprloc: DW_OP_plus_uconst N is the usual member location
        const len = r.uleb();
        const startAt = r.at;
        let value: number | undefined;
        if (len > 1 && r.buf[startAt] === 0x23) { r.at = startAt + 1; value = r.uleb(); }
        r.at = startAt; r.skip(len);
        return value;
      }
      case 0x0a: r.skip(r.u8()); return undefined; // block1
      case 0x0b: return r.u8(); // data1
      case 0x0c: return r.u8(); // flag
      case 0x0d: return r.sleb(); // sdata
      case 0x0e: return this.#strAt(this.str, r.u32()); // strp
      case 0x0f: return r.uleb(); // udata
      case 0x10: return r.u32(); // ref_addr (DWARF 3+, 32-bit)
      case 0x11: return unit.start + r.u8(); // ref1
      case 0x12: return unit.start + r.u16(); // ref2
      case 0x13: return unit.start + r.u32(); // ref4
      case 0x14: return unit.start + Number(r.u64()); // ref8
      case 0x15: return unit.start + r.uleb(); // ref_udata
      case 0x16: return this.#readForm(r, r.uleb(), implicit, unit); // indirect
      case 0x17: return r.u32(); // sec_offset
      case 0x19: return 1; // flag_present
      case 0x1a: return `\0strx:${r.uleb()}`; // strx
      case 0x1b: r.uleb(); return undefined; // addrx
      case 0x1c: return r.u32(); // ref_sup4
      case 0x1d: r.u32(); return undefined; // strp_sup
      case 0x1e: r.skip(16); return undefined; // data16
      case 0x1f: return this.#strAt(this.lineStr, r.u32()); // line_strp
      case 0x20: r.u64(); return undefined; // ref_sig8
      case 0x21: return implicit; // implicit_const
      case 0x22: case 0x23: r.uleb(); return undefined; // loclistx, rnglistx
      case 0x24: r.u64(); return undefined; // ref_sup8
      case 0x25: return `\0strx:${r.u8()}`;
      case 0x26: return `\0strx:${r.u16()}`;
      case 0x27: { const lo = r.u16(); return `\0strx:${lo | (r.u8() << 16)}`; }
      case 0x28: return `\0strx:${r.u32()}`;
      case 0x29: r.u8(); return undefined; // addrx1..4
      case 0x2a: r.u16(); return undefined;
      case 0x2b: r.skip(3); return undefined;
      case 0x2c: r.u32(); return undefined;
      default: throw bad(`unknown attribute form 0x${form.toString(16)}`);
    }
  }

  #strAt(section: Buffer, offset: number): string {
    if (offset >= section.length) return '';
    const end = section.indexOf(0, offset);
    return section.toString('utf8', offset, end === -1 ? section.length : end);
  }

  #strx(index: number, base: number): string {
    const at = base + index * 4;
    if (at + 4 > this.strOffsets.length) return '';
    return this.#strAt(this.str, this.strOffsets.readUInt32LE(at));
  }

  /** `a::b::Name` for a DIE inside namespaces. */
  #path(die: Die): string {
    const parts = [];
    for (let d: Die | undefined = die; d && d.tag !== TAG.compileUnit; d = d.parent) parts.unshift(String(d.attrs.get(AT.name) ?? ''));
    return parts.join('::');
  }

  /**
   * The struct, union or enum named `name` (a plain name, or a path like `common::Event` when
   * several types share the name); its definition, not a declaration.
   */
  named(name: string): CType | undefined {
    const matches: Die[] = [];
    for (const die of this.#dies.values()) {
      if (die.tag !== TAG.structure && die.tag !== TAG.union && die.tag !== TAG.enumeration && die.tag !== TAG.typedef) continue;
      if (die.attrs.has(AT.declaration)) continue;
      if (die.attrs.get(AT.name) === name || this.#path(die) === name || this.#path(die).endsWith(`::${name}`)) matches.push(die);
    }
    if (matches.length === 0) return undefined;
    const distinct = new Set(matches.map((d) => this.#path(d)));
    if (distinct.size > 1) {
      throw new EbpfError('INVALID_ARGUMENT', `several types are named ${name} (${[...distinct].join(', ')}): name one by its path`);
    }
    return this.type(matches[0].offset);
  }

  /** The type parameters of the global variable `name`'s type (`HashMap<K, V>` gives K and V). */
  variableTypeParameters(name: string): CType[] | undefined {
    for (const die of this.#dies.values()) {
      if (die.tag !== TAG.variable || die.attrs.get(AT.name) !== name) continue;
      const typeDie = this.#dies.get(die.attrs.get(AT.type) as number);
      if (!typeDie) continue;
      return typeDie.children.filter((c) => c.tag === TAG.templateType).map((c) => this.type(c.attrs.get(AT.type) as number));
    }
    return undefined;
  }

  /** The type of the DIE at `offset`, qualifiers and typedefs looked through. */
  type(offset: number | undefined): CType {
    if (offset === undefined) return { kind: 'void' };
    const cached = this.#resolved.get(offset);
    if (cached) return cached;
    const die = this.#dies.get(offset);
    if (!die) return { kind: 'unsupported', name: `0x${offset.toString(16)}`, why: `no DWARF entry at 0x${offset.toString(16)}` };
    const name = String(die.attrs.get(AT.name) ?? '');
    const size = Number(die.attrs.get(AT.byteSize) ?? 0);
    switch (die.tag) {
      case TAG.baseType: {
        const enc = die.attrs.get(AT.encoding) as number;
        if (enc === ATE.float) return { kind: 'float', name, size };
        if (enc === ATE.boolean) return { kind: 'int', name, size, signed: false, char: false, bool: true };
        if (enc === ATE.signed || enc === ATE.signedChar || enc === ATE.unsigned || enc === ATE.unsignedChar || enc === ATE.utf) {
          // C's `char` is a string byte; Rust's `u8`/`i8` are numbers (see the `strings` option).
          return { kind: 'int', name, size, signed: enc === ATE.signed || enc === ATE.signedChar, char: name === 'char', bool: false };
        }
        return { kind: 'unsupported', name, why: `${name} has DWARF encoding ${enc}` };
      }
      case TAG.pointer:
        return { kind: 'pointer', size: size || 8 };
      case TAG.const: case TAG.volatile: case TAG.restrict: case TAG.atomic:
        return this.type(die.attrs.get(AT.type) as number | undefined);
      case TAG.typedef: {
        const target = this.type(die.attrs.get(AT.type) as number | undefined);
        if ((target.kind === 'struct' || target.kind === 'enum') && !target.name) return this.#remember(offset, { ...target, name } as CType);
        return target;
      }
      case TAG.array: {
        let element = this.type(die.attrs.get(AT.type) as number | undefined);
        const dims = die.children.filter((c) => c.tag === TAG.subrange).map((c) => {
          const count = c.attrs.get(AT.count);
          if (typeof count === 'number') return count;
          const upper = c.attrs.get(AT.upperBound);
          return typeof upper === 'number' ? upper + 1 : 0;
        });
        // int a[2][3] is an array of 2 arrays of 3.
        for (const length of dims.reverse()) element = { kind: 'array', element, length };
        return this.#remember(offset, element);
      }
      case TAG.enumeration: {
        const underlying = this.type(die.attrs.get(AT.type) as number | undefined);
        const values = die.children.filter((c) => c.tag === TAG.enumerator).map((c) => ({ name: String(c.attrs.get(AT.name)), value: BigInt(c.attrs.get(AT.constValue) as number | bigint) }));
        const signed = underlying.kind === 'int' ? underlying.signed : values.some((v) => v.value < 0n);
        return this.#remember(offset, { kind: 'enum', name, size: size || (underlying.kind === 'int' ? underlying.size : 4), signed, values });
      }
      case TAG.structure: case TAG.union: {
        if (die.attrs.has(AT.declaration)) return { kind: 'unsupported', name, why: `${name} is only declared` };
        if (die.children.some((c) => c.tag === TAG.variantPart)) {
          return { kind: 'unsupported', name, why: `${name} is a Rust enum with data (only C-like #[repr(...)] enums and #[repr(C)] structs cross to TypeScript)` };
        }
        const out: CType = { kind: 'struct', name, size, union: die.tag === TAG.union, members: [], origin: 'DWARF' };
        this.#resolved.set(offset, out);
        for (const c of die.children) {
          if (c.tag !== TAG.member) continue;
          const member: CMember = { name: String(c.attrs.get(AT.name) ?? ''), offset: Number(c.attrs.get(AT.dataMemberLocation) ?? 0), type: this.type(c.attrs.get(AT.type) as number | undefined) };
          if (c.attrs.has(AT.bitSize)) {
            member.bitSize = Number(c.attrs.get(AT.bitSize));
            if (c.attrs.has(AT.dataBitOffset)) member.offset = Math.floor(Number(c.attrs.get(AT.dataBitOffset)) / 8);
          }
          out.members.push(member);
        }
        return out;
      }
      case TAG.subroutine:
        return { kind: 'unsupported', name: name || 'function', why: 'a function type' };
      default:
        return { kind: 'unsupported', name, why: `DWARF tag 0x${die.tag.toString(16)}` };
    }
  }

  #remember(offset: number, type: CType): CType {
    this.#resolved.set(offset, type);
    return type;
  }
}

function parseAbbrevs(buf: Buffer, offset: number): Map<number, Abbrev> {
  const r = new Reader(buf, offset);
  const out = new Map<number, Abbrev>();
  for (;;) {
    const code = r.uleb();
    if (code === 0) return out;
    const tag = r.uleb();
    const hasChildren = r.u8() === 1;
    const specs: Abbrev['specs'] = [];
    for (;;) {
      const attr = r.uleb();
      const form = r.uleb();
      if (attr === 0 && form === 0) break;
      specs.push([attr, form, form === 0x21 ? r.sleb() : 0]);
    }
    out.set(code, { tag, hasChildren, specs });
  }
}

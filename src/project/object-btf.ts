// Reading the types of an object file's `.BTF` section (the format is documented in the
// kernel's Documentation/bpf/btf.rst). C objects built with `clang -g` carry complete struct
// types here; Rust objects built by bpf-linker carry only what their maps and globals name.

import { EbpfError } from '../errors';
import { demangleBtfName, type CMember, type CType, type TypeTable } from './ctypes';

const enum Kind {
  Void = 0, Int, Ptr, Array, Struct, Union, Enum, Fwd, Typedef, Volatile, Const, Restrict, Func, FuncProto, Var, Datasec, Float, DeclTag, TypeTag, Enum64,
}

interface RawType {
  kind: Kind;
  name: string;
  vlen: number;
  kindFlag: boolean;
  /** size or type id, by kind */
  sizeOrType: number;
  /** offset of the kind-specific data after the 12-byte header */
  extra: number;
}

export interface BtfVar {
  name: string;
  type: number;
  section: string;
  offset: number;
  size: number;
}

/** At most this many types are read: a corrupt header must not make us allocate without bound. */
const MAX_TYPES = 1 << 20;

export class ObjectBtf implements TypeTable {
  readonly source = 'btf' as const;
  readonly #data: Buffer;
  readonly #strings: Buffer;
  readonly #types: RawType[] = [{ kind: Kind.Void, name: '', vlen: 0, kindFlag: false, sizeOrType: 0, extra: 0 }];
  readonly #resolved = new Map<number, CType>();
  /** Variables of each DATASEC (maps in `.maps`, globals in `.rodata`, `.data`, `.bss`). */
  readonly vars: BtfVar[] = [];

  constructor(section: Buffer) {
    if (section.length < 24 || section.readUInt16LE(0) !== 0xeb9f) throw new EbpfError('PARSE', 'the .BTF section has no BTF header');
    const hdrLen = section.readUInt32LE(4);
    const typeOff = section.readUInt32LE(8);
    const typeLen = section.readUInt32LE(12);
    const strOff = section.readUInt32LE(16);
    const strLen = section.readUInt32LE(20);
    if (hdrLen + typeOff + typeLen > section.length || hdrLen + strOff + strLen > section.length) {
      throw new EbpfError('PARSE', 'the .BTF section is truncated');
    }
    this.#data = section.subarray(hdrLen + typeOff, hdrLen + typeOff + typeLen);
    this.#strings = section.subarray(hdrLen + strOff, hdrLen + strOff + strLen);
    let at = 0;
    const d = this.#data;
    while (at + 12 <= d.length && this.#types.length < MAX_TYPES) {
      const info = d.readUInt32LE(at + 4);
      const t: RawType = {
        name: this.#string(d.readUInt32LE(at)),
        vlen: info & 0xffff,
        kind: ((info >>> 24) & 0x1f) as Kind,
        kindFlag: info >>> 31 === 1,
        sizeOrType: d.readUInt32LE(at + 8),
        extra: at + 12,
      };
      this.#types.push(t);
      at += 12 + extraSize(t);
    }
    for (const t of this.#types) {
      if (t.kind !== Kind.Datasec) continue;
      for (let i = 0; i < t.vlen; i++) {
        const base = t.extra + i * 12;
        const type = d.readUInt32LE(base);
        const v = this.#types[type];
        if (v?.kind !== Kind.Var) continue;
        this.vars.push({ name: v.name, type: v.sizeOrType, section: t.name, offset: d.readUInt32LE(base + 4), size: d.readUInt32LE(base + 8) });
      }
    }
  }

  /** A type by id, with typedefs and qualifiers kept out of the way. */
  type(id: number): CType {
    const cached = this.#resolved.get(id);
    if (cached) return cached;
    const t = this.#types[id];
    if (!t) return { kind: 'unsupported', name: `#${id}`, why: `BTF type id ${id} does not exist` };
    const d = this.#data;
    switch (t.kind) {
      case Kind.Void:
        return { kind: 'void' };
      case Kind.Int: {
        const enc = (d.readUInt32LE(t.extra) >>> 24) & 0xf;
        const bits = d.readUInt32LE(t.extra) & 0xff;
        if (bits !== t.sizeOrType * 8) return { kind: 'unsupported', name: t.name, why: `${t.name} is a ${bits}-bit integer in ${t.sizeOrType} bytes` };
        return { kind: 'int', name: t.name, size: t.sizeOrType, signed: (enc & 1) !== 0, char: (enc & 2) !== 0 || t.name === 'char', bool: (enc & 4) !== 0 };
      }
      case Kind.Float:
        return { kind: 'float', name: t.name, size: t.sizeOrType };
      case Kind.Ptr:
        return { kind: 'pointer', size: 8 };
      case Kind.Array:
        return this.#remember(id, { kind: 'array', element: this.type(d.readUInt32LE(t.extra)), length: d.readUInt32LE(t.extra + 8) });
      case Kind.Struct:
      case Kind.Union: {
        const out: CType = { kind: 'struct', name: demangleBtfName(t.name), size: t.sizeOrType, union: t.kind === Kind.Union, members: [], origin: 'BTF' };
        this.#resolved.set(id, out); // before the members: a member may point back at it
        for (let i = 0; i < t.vlen; i++) {
          const base = t.extra + i * 12;
          const raw = d.readUInt32LE(base + 8);
          const bitOffset = t.kindFlag ? raw & 0xffffff : raw;
          const bitSize = t.kindFlag ? raw >>> 24 : 0;
          const member: CMember = { name: this.#string(d.readUInt32LE(base)), offset: Math.floor(bitOffset / 8), type: this.type(d.readUInt32LE(base + 4)) };
          if (bitSize || bitOffset % 8) member.bitSize = bitSize || 1;
          out.members.push(member);
        }
        return out;
      }
      case Kind.Enum:
      case Kind.Enum64: {
        const values = [];
        const step = t.kind === Kind.Enum ? 8 : 12;
        for (let i = 0; i < t.vlen; i++) {
          const base = t.extra + i * step;
          const value = t.kind === Kind.Enum
            ? BigInt(t.kindFlag ? d.readInt32LE(base + 4) : d.readUInt32LE(base + 4))
            : (BigInt(d.readUInt32LE(base + 8)) << 32n) | BigInt(d.readUInt32LE(base + 4));
          values.push({ name: this.#string(d.readUInt32LE(base)), value });
        }
        return this.#remember(id, { kind: 'enum', name: t.name, size: t.sizeOrType, signed: t.kindFlag, values });
      }
      case Kind.Typedef: {
        const target = this.type(t.sizeOrType);
        // `typedef struct { ... } event_t;` names the anonymous struct.
        if ((target.kind === 'struct' || target.kind === 'enum') && !target.name) return this.#remember(id, { ...target, name: t.name } as CType);
        return target;
      }
      case Kind.Volatile:
      case Kind.Const:
      case Kind.Restrict:
      case Kind.TypeTag:
        return this.type(t.sizeOrType);
      case Kind.Fwd:
        return { kind: 'unsupported', name: t.name, why: `${t.name} is only declared (no definition in the object's BTF)` };
      default:
        return { kind: 'unsupported', name: t.name, why: `BTF kind ${t.kind} cannot be decoded` };
    }
  }

  /** The id of the first type named `name` of one of `kinds` (struct, union, enum, typedef). */
  #idOf(name: string): number | undefined {
    for (let id = 1; id < this.#types.length; id++) {
      const t = this.#types[id];
      if (t.name !== name && demangleBtfName(t.name) !== name) continue;
      if (t.kind === Kind.Struct || t.kind === Kind.Union || t.kind === Kind.Enum || t.kind === Kind.Enum64 || t.kind === Kind.Typedef) return id;
    }
    return undefined;
  }

  named(name: string): CType | undefined {
    const id = this.#idOf(name);
    return id === undefined ? undefined : this.type(id);
  }

  /** The raw kind and target of a type id (for reading `.maps` definitions). */
  pointee(id: number): number | undefined {
    let t = this.#types[id];
    while (t && (t.kind === Kind.Typedef || t.kind === Kind.Const || t.kind === Kind.Volatile)) t = this.#types[t.sizeOrType];
    return t?.kind === Kind.Ptr ? t.sizeOrType : undefined;
  }

  /** The members of struct `id`, with their type ids (for `.maps` definitions). */
  rawMembers(id: number): Array<{ name: string; type: number }> {
    const t = this.#types[id];
    if (!t || (t.kind !== Kind.Struct && t.kind !== Kind.Union)) return [];
    const out = [];
    for (let i = 0; i < t.vlen; i++) out.push({ name: this.#string(this.#data.readUInt32LE(t.extra + i * 12)), type: this.#data.readUInt32LE(t.extra + i * 12 + 4) });
    return out;
  }

  /** The number of elements of array type `id` (how `.maps` definitions encode numbers). */
  arrayLength(id: number): number | undefined {
    const t = this.#types[id];
    return t?.kind === Kind.Array ? this.#data.readUInt32LE(t.extra + 8) : undefined;
  }

  /** The name of type `id` (mangled Rust generics spelt out). */
  nameOf(id: number): string {
    return demangleBtfName(this.#types[id]?.name ?? '');
  }

  #remember(id: number, type: CType): CType {
    this.#resolved.set(id, type);
    return type;
  }

  #string(offset: number): string {
    if (offset >= this.#strings.length) return '';
    const end = this.#strings.indexOf(0, offset);
    return this.#strings.toString('utf8', offset, end === -1 ? this.#strings.length : end);
  }
}

function extraSize(t: RawType): number {
  switch (t.kind) {
    case Kind.Int:
    case Kind.Var:
    case Kind.DeclTag:
      return 4;
    case Kind.Array:
      return 12;
    case Kind.Struct:
    case Kind.Union:
    case Kind.Datasec:
    case Kind.Enum64:
      return 12 * t.vlen;
    case Kind.Enum:
    case Kind.FuncProto:
      return 8 * t.vlen;
    default:
      return 0;
  }
}

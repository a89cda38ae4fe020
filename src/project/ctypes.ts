// The C types `aya-node gen` reads out of an object's BTF or DWARF: one model for both, so the
// code generator does not care which of them described a struct.

export type CType =
  | { kind: 'int'; name: string; size: number; signed: boolean; char: boolean; bool: boolean }
  | { kind: 'float'; name: string; size: number }
  | { kind: 'pointer'; size: number }
  | { kind: 'array'; element: CType; length: number }
  | { kind: 'struct'; name: string; size: number; union: boolean; members: CMember[]; origin: string }
  | { kind: 'enum'; name: string; size: number; signed: boolean; values: Array<{ name: string; value: bigint }> }
  | { kind: 'void' }
  | { kind: 'unsupported'; name: string; why: string };

export interface CMember {
  name: string;
  /** Byte offset in the struct. */
  offset: number;
  type: CType;
  /** Set for bit fields. */
  bitSize?: number;
}

/** Where gen found a type: `btf` or `dwarf`. */
export type TypeSource = 'btf' | 'dwarf';

export interface TypeTable {
  readonly source: TypeSource;
  /** The struct, union or enum (or typedef of one) named `name`, complete, or undefined. */
  named(name: string): CType | undefined;
}

/** Size in bytes of a type (0 for void). */
export function sizeOf(type: CType): number {
  switch (type.kind) {
    case 'array':
      return sizeOf(type.element) * type.length;
    case 'void':
    case 'unsupported':
      return 0;
    default:
      return type.size;
  }
}

/** A short C-like spelling of a type, for messages. */
export function describe(type: CType): string {
  switch (type.kind) {
    case 'array':
      return `${describe(type.element)}[${type.length}]`;
    case 'struct':
      return `${type.union ? 'union' : 'struct'} ${type.name || '(anonymous)'}`;
    case 'enum':
      return `enum ${type.name || '(anonymous)'}`;
    case 'pointer':
      return 'pointer';
    case 'void':
      return 'void';
    case 'unsupported':
      return type.name || type.why;
    default:
      return type.name;
  }
}

/** Rust's mangled generic names in BTF: `HashMap_3C_u32_2C__20_u64_3E_` is `HashMap<u32, u64>`. */
export function demangleBtfName(name: string): string {
  return name.replace(/_([0-9A-F]{2})_/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

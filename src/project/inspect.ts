// What an eBPF object holds, read from the file alone (no kernel, no root): its programs and
// their sections, its maps with their kinds and key/value types, and its global variables.

import { readFileSync } from 'node:fs';
import { ebpfError } from '../errors';
import { sizeOf, type CType, type TypeSource } from './ctypes';
import { ElfFile, STT_FUNC, STT_OBJECT } from './elf';
import { ObjectBtf } from './object-btf';
import { ObjectDwarf } from './object-dwarf';

const SOCKHASH = 18;

export interface ObjectProgram {
  name: string;
  section: string;
}

export interface ObjectMap {
  name: string;
  /** BPF_MAP_TYPE_* */
  mapType: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  key?: CType;
  value?: CType;
  /** Where the key and value types were read. */
  typeSource?: 'BTF' | 'DWARF';
}

export interface ObjectGlobal {
  name: string;
  section: string;
  type: CType;
}

export interface FoundType {
  type: CType;
  source: TypeSource;
}

export class ObjectInfo {
  readonly elf: ElfFile;
  readonly btf: ObjectBtf | undefined;
  #dwarf: ObjectDwarf | undefined | null = null;
  readonly programs: ObjectProgram[] = [];
  readonly maps: ObjectMap[] = [];
  readonly globals: ObjectGlobal[] = [];

  constructor(readonly path: string, bytes: Buffer = readFileSync(path)) {
    this.elf = new ElfFile(bytes, path);
    const btfSection = this.elf.section('.BTF');
    this.btf = btfSection ? new ObjectBtf(btfSection.data) : undefined;
    this.#readPrograms();
    this.#readLegacyMaps();
    this.#readBtfMaps();
    this.#readGlobals();
  }

  /** The object's DWARF, parsed on first use (undefined when it has none). */
  get dwarf(): ObjectDwarf | undefined {
    if (this.#dwarf === null) this.#dwarf = ObjectDwarf.from(this.elf);
    return this.#dwarf;
  }

  /**
   * The type named `name`, from BTF when BTF describes it completely, else from DWARF (Rust
   * objects: bpf-linker's BTF leaves out the structs that only maps' type parameters name).
   */
  type(name: string): FoundType | undefined {
    const fromBtf = this.btf?.named(name);
    if (fromBtf && complete(fromBtf)) return { type: fromBtf, source: 'btf' };
    const fromDwarf = this.dwarf?.named(name);
    if (fromDwarf) return { type: fromDwarf, source: 'dwarf' };
    return fromBtf ? { type: fromBtf, source: 'btf' } : undefined;
  }

  #readPrograms(): void {
    for (const sym of this.elf.symbols) {
      if (sym.type !== STT_FUNC || sym.binding === 0) continue; // local functions are subprograms
      const section = this.elf.sections[sym.sectionIndex];
      if (!section || section.name === '.text' || section.name.startsWith('.')) continue;
      this.programs.push({ name: sym.name, section: section.name });
    }
  }

  /** aya-ebpf's (and old libbpf's) `maps` section: a `bpf_map_def` per map symbol. */
  #readLegacyMaps(): void {
    const section = this.elf.section('maps');
    if (!section) return;
    for (const sym of this.elf.symbols) {
      if (sym.sectionIndex !== section.index || sym.type !== STT_OBJECT || sym.value + 16 > section.data.length) continue;
      const d = section.data;
      const map: ObjectMap = {
        name: sym.name,
        mapType: d.readUInt32LE(sym.value),
        keySize: d.readUInt32LE(sym.value + 4),
        valueSize: d.readUInt32LE(sym.value + 8),
        maxEntries: d.readUInt32LE(sym.value + 12),
      };
      // The key and value types are the type parameters of the Rust map (`HashMap<K, V>`).
      const params = this.dwarf?.variableTypeParameters(sym.name) ?? [];
      map.typeSource = 'DWARF';
      const sized = params.filter((p) => sizeOf(p) > 0);
      if (sized.length === 2) [map.key, map.value] = sized;
      // One parameter is the value (Array<T>, PerCpuArray<T>, Queue<T>...), except SockHash<K>.
      else if (sized.length === 1 && map.mapType === SOCKHASH) map.key = sized[0];
      else if (sized.length === 1) map.value = sized[0];
      this.maps.push(map);
    }
  }

  /** libbpf's `.maps` section: a struct per map whose members encode type, key and value. */
  #readBtfMaps(): void {
    const btf = this.btf;
    if (!btf) return;
    for (const v of btf.vars) {
      if (v.section !== '.maps') continue;
      const map: ObjectMap = { name: v.name, mapType: 0, keySize: 0, valueSize: 0, maxEntries: 0, typeSource: 'BTF' };
      for (const m of btf.rawMembers(v.type)) {
        const target = btf.pointee(m.type);
        if (target === undefined) continue;
        const number = btf.arrayLength(target);
        switch (m.name) {
          case 'type': map.mapType = number ?? 0; break;
          case 'max_entries': map.maxEntries = number ?? 0; break;
          case 'key_size': map.keySize = number ?? 0; break;
          case 'value_size': map.valueSize = number ?? 0; break;
          case 'key': map.key = btf.type(target); map.keySize = sizeOf(map.key); break;
          case 'value': map.value = btf.type(target); map.valueSize = sizeOf(map.value); break;
        }
      }
      this.maps.push(map);
    }
  }

  #readGlobals(): void {
    for (const v of this.btf?.vars ?? []) {
      if (!/^\.(rodata|data|bss)/.test(v.section) || v.name.startsWith('.')) continue;
      this.globals.push({ name: v.name, section: v.section, type: this.btf!.type(v.type) });
    }
  }
}

/** Whether a type has every member described (BTF of Rust objects may name a struct only). */
function complete(type: CType, seen = new Set<CType>()): boolean {
  if (seen.has(type)) return true;
  seen.add(type);
  switch (type.kind) {
    case 'unsupported':
      return false;
    case 'array':
      return complete(type.element, seen);
    case 'struct':
      return (type.size === 0 || type.members.length > 0) && type.members.every((m) => complete(m.type, seen));
    default:
      return true;
  }
}

/** Reads an object, turning a missing file into a clear error. */
export function readObject(path: string): ObjectInfo {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw ebpfError('NOT_FOUND', `cannot read the object ${path}: ${(err as Error).message}`);
  }
  return new ObjectInfo(path, bytes);
}

// Turning the types, maps, programs and globals of an object into a TypeScript module: a codec
// and an exported type per struct, and a typed loader (`load()`).

import { EbpfError } from '../errors';
import { describe, sizeOf, type CMember, type CType } from './ctypes';
import type { ObjectInfo } from './inspect';

export interface GenOptions {
  /** Types to generate besides those the maps carry (bpf2go's `-type`). */
  types?: string[];
  /** The event type of each ring buffer or perf event array, by map name: `{ EVENTS: 'Event' }`. */
  events?: Record<string, string>;
  /**
   * Members that are C strings although their type is a byte array (Rust `[u8; N]`), as
   * `Type.member`. C `char` arrays are strings without this.
   */
  strings?: string[];
  /** The module the generated code imports aya-node from (default `aya-node`). */
  importFrom?: string;
}

export interface Generated {
  source: string;
  /** Generated structs with their sizes, and where each came from. */
  structs: Array<{ name: string; size: number; source: string }>;
}

// BPF_MAP_TYPE_* numbers and the class each opens as; `args` is what the class takes.
// (`lpm`: an LpmTrie's key is a u32 prefix length and the data, and the class takes the data's codec.)
const MAP_CLASSES: Record<number, { cls: string; args: 'kv' | 'k' | 'v' | 'lpm' | 'none' }> = {
  1: { cls: 'HashMap', args: 'kv' },
  2: { cls: 'ArrayMap', args: 'v' },
  3: { cls: 'ProgramArray', args: 'none' },
  5: { cls: 'PerCpuHashMap', args: 'kv' },
  6: { cls: 'PerCpuArray', args: 'v' },
  7: { cls: 'StackTraceMap', args: 'none' },
  9: { cls: 'LruHashMap', args: 'kv' },
  10: { cls: 'LruPerCpuHashMap', args: 'kv' },
  11: { cls: 'LpmTrie', args: 'lpm' },
  12: { cls: 'ArrayOfMaps', args: 'none' },
  13: { cls: 'HashOfMaps', args: 'k' },
  14: { cls: 'DevMap', args: 'none' },
  15: { cls: 'SockMap', args: 'none' },
  16: { cls: 'CpuMap', args: 'none' },
  17: { cls: 'XskMap', args: 'none' },
  18: { cls: 'SockHash', args: 'k' },
  22: { cls: 'Queue', args: 'v' },
  23: { cls: 'Stack', args: 'v' },
  25: { cls: 'DevMapHash', args: 'k' },
  30: { cls: 'BloomFilter', args: 'v' },
};
const PERF_EVENT_ARRAY = 4;
const RINGBUF = 27;

/** Program classes by the first part of the ELF section name (aya's and libbpf's spellings). */
const PROGRAM_CLASSES: Array<[RegExp, string]> = [
  [/^(tracepoint|tp)(\/|$)/, 'TracePoint'],
  [/^(raw_tracepoint|raw_tp)(\.w)?(\/|$)/, 'RawTracePoint'],
  [/^tp_btf(\/|$)/, 'BtfTracePoint'],
  [/^fentry(\/|$)/, 'FEntry'],
  [/^fexit(\/|$)/, 'FExit'],
  [/^lsm(\.s)?(\/|$)/, 'Lsm'],
  [/^k(ret)?probe(\/|$)/, 'KProbe'],
  [/^u(ret)?probe(\.s)?(\/|$)/, 'UProbe'],
  [/^perf_event(\/|$)/, 'PerfEvent'],
  [/^xdp(\.frags)?(\/|$)/, 'Xdp'],
  [/^(classifier|tc|tcx)(\/|$)/, 'SchedClassifier'],
  [/^socket(\/|$)/, 'SocketFilter'],
  [/^cgroup(_skb|\/skb)(\/|$)/, 'CgroupSkb'],
  [/^cgroup\/(connect|bind|sendmsg|recvmsg|getpeername|getsockname)/, 'CgroupSockAddr'],
  [/^cgroup\/sysctl/, 'CgroupSysctl'],
  [/^cgroup\/dev/, 'CgroupDevice'],
  [/^cgroup\/(sock_create|sock_release|post_bind|sock)(\/|$)/, 'CgroupSock'],
  [/^cgroup\/(get|set)sockopt/, 'CgroupSockopt'],
  [/^sk_msg(\/|$)/, 'SkMsg'],
  [/^sk_skb(\/|$)/, 'SkSkb'],
  [/^sockops(\/|$)/, 'SockOps'],
  [/^sk_lookup(\/|$)/, 'SkLookup'],
  [/^flow_dissector(\/|$)/, 'FlowDissector'],
  [/^iter(\.s)?(\/|$)/, 'Iter'],
];

export function programClass(section: string): string {
  return PROGRAM_CLASSES.find(([re]) => re.test(section))?.[1] ?? 'Program';
}

const RESERVED = new Set(['aya', 'codec', 'load', 'Loaded', 'Globals', 'LoadOptions', 'sizes', 'encodeGlobals']);
const identifier = (name: string) => {
  const id = name.replace(/[^A-Za-z0-9_$]/g, '_').replace(/^(?=[0-9])/, '_');
  return RESERVED.has(id) ? `${id}_` : id;
};
const key = (name: string) => (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? name : JSON.stringify(name));
const alignUp = (n: number, a: number) => Math.ceil(n / a) * a;

/** Why a type cannot be generated: the error names the path to the offending member. */
function unsupported(path: string, why: string): never {
  throw new EbpfError('INVALID_ARGUMENT', `cannot generate ${path}: ${why}`);
}

class Emitter {
  readonly decls: string[] = [];
  readonly structs: Generated['structs'] = [];
  readonly #named = new Map<CType, string>();
  readonly #names = new Set<string>();
  readonly #bySignature = new Map<string, string>();
  readonly #strings: Set<string>;
  /** The `strings` entries some member matched: the others are typos, reported. */
  readonly usedStrings = new Set<string>();

  constructor(strings: string[] = []) {
    this.#strings = new Set(strings);
  }

  /** The name of the generated codec for a named struct (emitting it, and what it uses, first). */
  named(type: CType, source: string): string {
    const known = this.#named.get(type);
    if (known) return known;
    if (type.kind !== 'struct' && type.kind !== 'enum') return this.codec(type, describe(type), source);
    // The same type read from BTF and from DWARF is two objects but one codec.
    const sig = signature(type);
    const same = this.#bySignature.get(sig);
    if (same) {
      this.#named.set(type, same);
      return same;
    }
    let name = identifier(type.name || 'Anonymous');
    for (let i = 2; this.#names.has(name); i++) name = `${identifier(type.name)}${i}`;
    this.#names.add(name);
    this.#named.set(type, name);
    this.#bySignature.set(sig, name);
    if (type.kind === 'enum') {
      const values = type.values.map((v) => `  ${key(v.name)}: ${v.value >= -(2n ** 53n) && v.value <= 2n ** 53n ? String(v.value) : `${v.value}n`},`).join('\n');
      this.decls.push(`/** \`enum ${type.name}\` (${type.size} bytes): its values by name. */\nexport const ${name} = {\n${values}\n} as const;\nexport type ${name} = (typeof ${name})[keyof typeof ${name}];\n`);
      return name;
    }
    const fields = this.#fields(type, source);
    this.structs.push({ name, size: type.size, source });
    this.decls.push(
      `/** \`${type.union ? 'union' : 'struct'} ${type.name}\` (${type.size} bytes, from ${source}). */\n` +
        `export const ${name} = codec.struct({\n${fields.map((f) => `  ${f},`).join('\n')}\n});\n` +
        `export type ${name} = aya.Infer<typeof ${name}>;\n`,
    );
    return name;
  }

  /** `name: codec` lines with explicit padding, checked against the object's offsets and size. */
  #fields(type: Extract<CType, { kind: 'struct' }>, source: string): string[] {
    const where = `struct ${type.name}`;
    if (type.union) unsupported(where, 'unions have no codec (read the bytes with codec.bytes and decode the variant yourself)');
    const out: string[] = [];
    let at = 0;
    let align = 1;
    let pads = 0;
    const members = [...type.members].filter((m) => sizeOf(m.type) > 0 || m.type.kind === 'unsupported').sort((a, b) => a.offset - b.offset);
    for (const m of members) {
      const path = `${type.name}.${m.name}`;
      if (m.bitSize !== undefined) unsupported(path, `a ${m.bitSize}-bit bit field (bit fields have no codec)`);
      const expr = this.#memberCodec(m, path, source);
      const a = alignOf(m.type);
      if (m.offset < at) unsupported(path, `member at offset ${m.offset} overlaps the previous one`);
      if (alignUp(at, a) !== m.offset) {
        if (m.offset % a !== 0) unsupported(path, `member at offset ${m.offset} is not ${a}-byte aligned (packed structs are not supported)`);
        out.push(`_pad${pads++}: codec.padding(${m.offset - at})`);
      }
      // An enum field decodes as its integer; say which constants it takes.
      const doc = m.type.kind === 'enum' ? `/** One of ${this.#named.get(m.type)} (a value of the enum). */\n  ` : '';
      out.push(`${doc}${key(m.name || `_anon${m.offset}`)}: ${expr}`);
      at = m.offset + sizeOf(m.type);
      align = Math.max(align, a);
    }
    if (alignUp(at, align) !== type.size) {
      if (type.size < alignUp(at, align) || type.size % align !== 0) unsupported(where, `its size ${type.size} does not fit C alignment (packed structs are not supported)`);
      out.push(`_pad${pads++}: codec.padding(${type.size - at})`);
    }
    return out;
  }

  #memberCodec(m: CMember, path: string, source: string): string {
    if (this.#strings.has(path)) {
      this.usedStrings.add(path);
      // [u8; N] is one string, [[u8; N]; M] an array of M strings.
      const strings = (type: CType): string => {
        if (type.kind === 'array' && type.element.kind === 'int' && type.element.size === 1) return `codec.cstring(${type.length})`;
        if (type.kind === 'array' && type.element.kind === 'array') return `codec.array(${strings(type.element)}, ${type.length})`;
        return unsupported(path, `listed as a string but it is ${describe(m.type)}, not a byte array`);
      };
      return strings(m.type);
    }
    return this.codec(m.type, path, source);
  }

  /** The codec expression of a type. */
  codec(type: CType, path: string, source: string): string {
    switch (type.kind) {
      case 'int':
        if (type.bool) return 'codec.bool';
        if (![1, 2, 4, 8].includes(type.size)) unsupported(path, `a ${type.size}-byte integer`);
        return `codec.${type.signed ? 'i' : 'u'}${type.size * 8}`;
      case 'float':
        if (type.size !== 4 && type.size !== 8) unsupported(path, `a ${type.size}-byte float`);
        return `codec.f${type.size * 8}`;
      case 'pointer':
        // A kernel or user address: meaningful only as a number in user space.
        return 'codec.u64';
      case 'enum':
        this.named(type, source);
        if (![1, 2, 4, 8].includes(type.size)) unsupported(path, `a ${type.size}-byte enum`);
        return `codec.${type.signed ? 'i' : 'u'}${type.size * 8}`;
      case 'array': {
        const el = type.element;
        if (el.kind === 'int' && el.char) return `codec.cstring(${type.length})`;
        if (el.kind === 'int' && el.size === 1 && !el.bool && !el.signed) return `codec.bytes(${type.length})`;
        return `codec.array(${this.codec(el, `${path}[]`, source)}, ${type.length})`;
      }
      case 'struct':
        return this.named(type, source);
      case 'void':
        return unsupported(path, 'void has no size');
      case 'unsupported':
        return unsupported(path, type.why);
    }
  }
}

/** The TypeScript type a codec expression decodes to, spelt plainly where it is simple. */
function tsType(codecExpr: string): string {
  if (/^codec\.(u|i)(8|16|32)$|^codec\.f(32|64)$/.test(codecExpr)) return 'number';
  if (/^codec\.(u|i)64$/.test(codecExpr)) return 'bigint';
  if (codecExpr === 'codec.bool') return 'boolean';
  if (/^codec\.cstring\(\d+\)$/.test(codecExpr)) return 'string';
  if (/^codec\.bytes\(\d+\)$/.test(codecExpr)) return 'Buffer';
  // `typeof` takes a name, not a call: an array global (`[u32; 6]`) is spelt as its element's array.
  const array = /^codec\.array\((.+), \d+\)$/.exec(codecExpr);
  if (array) return `Array<${tsType(array[1])}>`;
  return `aya.Infer<typeof ${codecExpr}>`;
}

/** What makes two descriptions of a struct or enum the same type. */
function signature(type: CType): string {
  if (type.kind === 'enum') return `enum ${type.name} ${type.size} ${type.values.map((v) => `${v.name}=${v.value}`).join(',')}`;
  if (type.kind === 'struct') return `struct ${type.name} ${type.size} ${type.members.map((m) => `${m.name}@${m.offset}:${describe(m.type)}`).join(',')}`;
  return describe(type);
}

function alignOf(type: CType): number {
  switch (type.kind) {
    case 'array':
      return alignOf(type.element);
    case 'struct':
      return type.members.reduce((a, m) => Math.max(a, sizeOf(m.type) > 0 ? alignOf(m.type) : 1), 1);
    case 'int':
    case 'float':
    case 'enum':
    case 'pointer':
      return type.size;
    default:
      return 1;
  }
}

/** A TypeScript module for the object: see `aya-node gen --help`. */
export function generate(object: ObjectInfo, options: GenOptions = {}): Generated {
  const emitter = new Emitter(options.strings);
  const events = { ...(options.events ?? {}) };
  const find = (name: string, what: string) => {
    const found = object.type(name);
    if (!found) throw new EbpfError('NOT_FOUND', `${what}: no type named ${name} in ${object.path} (neither its BTF nor its DWARF has it; build with debug info: \`debug = 2\` in Rust, \`clang -g\` in C)`);
    if (found.type.kind !== 'struct' && found.type.kind !== 'enum') throw new EbpfError('INVALID_ARGUMENT', `${what}: ${name} is ${describe(found.type)}, not a struct or enum`);
    return found;
  };
  const streamMaps = object.maps.filter((m) => m.mapType === RINGBUF || m.mapType === PERF_EVENT_ARRAY);
  for (const name of Object.keys(events)) {
    if (!streamMaps.some((m) => m.name === name)) {
      throw new EbpfError('NOT_FOUND', `--event ${name}: the object has no ring buffer or perf event array named ${name} (it has: ${streamMaps.map((m) => m.name).join(', ') || 'none'})`);
    }
  }
  for (const name of options.types ?? []) {
    const found = find(name, `--type ${name}`);
    emitter.named(found.type, found.source.toUpperCase());
  }
  // One stream map and one named type: that type is its event (as bpf2go users expect).
  if (streamMaps.length === 1 && Object.keys(events).length === 0 && options.types?.length === 1) events[streamMaps[0].name] = options.types[0];

  const mapLines: string[] = [];
  const openers: string[] = [];
  for (const map of object.maps) {
    const prop = key(map.name);
    const lit = JSON.stringify(map.name);
    if (map.mapType === RINGBUF || map.mapType === PERF_EVENT_ARRAY) {
      const method = map.mapType === RINGBUF ? 'ringBuf' : 'perfEventArray';
      const optionsType = map.mapType === RINGBUF ? 'aya.RingBufOptions' : 'aya.PerfEventArrayOptions';
      const eventName = events[map.name];
      const codecName = eventName ? emitter.named(find(eventName, `event of ${map.name}`).type, object.type(eventName)!.source.toUpperCase()) : undefined;
      const doc = codecName ? `events decoded as ${codecName}` : 'raw Buffers (name its event type with --event to decode)';
      openers.push(`      /** ${method === 'ringBuf' ? 'Ring buffer' : 'Perf event array'} \`${map.name}\`: ${doc}. Call it once: it takes the map from the object. */\n      ${prop}: (options?: ${optionsType}) => ebpf.${method}(${lit}${codecName ? `, ${codecName}` : ', undefined'}, options),`);
      continue;
    }
    const cls = MAP_CLASSES[map.mapType];
    if (!cls) {
      mapLines.push(`      // map ${map.name}: type ${map.mapType} has no typed class here; open it with ebpf.map().`);
      continue;
    }
    const args: string[] = [];
    const codecFor = (type: CType | undefined, size: number, what: string) => {
      if (!type) return `codec.bytes(${size})`; // the object does not say: raw bytes of the right size
      const expr = emitter.codec(type, `${map.name} ${what}`, map.typeSource ?? 'BTF');
      if (sizeOf(type) !== size) throw new EbpfError('INVALID_ARGUMENT', `map ${map.name}: its ${what} type ${describe(type)} is ${sizeOf(type)} bytes but the map's ${what} size is ${size}`);
      return expr;
    };
    if (cls.args === 'kv' || cls.args === 'k') args.push(codecFor(map.key, map.keySize, 'key'));
    if (cls.args === 'lpm') {
      // Rust's LpmTrie<K, V> names K, the data; C's key type is the whole { prefixlen; data } struct.
      const data = map.key?.kind === 'struct' && map.key.members.length === 2 && map.key.members[0].offset === 0 ? map.key.members[1].type : map.key;
      args.push(codecFor(data, map.keySize - 4, 'key data'));
    }
    if (cls.args === 'kv' || cls.args === 'v' || cls.args === 'lpm') args.push(codecFor(map.value, map.valueSize, 'value'));
    mapLines.push(`      /** \`${map.name}\`: ${cls.cls}, up to ${map.maxEntries} entries. */\n      ${prop}: once(() => ebpf.map(${lit}, aya.${cls.cls}${args.map((a) => `, ${a}`).join('')})),`);
  }

  const globals = object.globals.flatMap((g) => {
    try {
      return [{ name: g.name, codec: emitter.codec(g.type, `global ${g.name}`, 'BTF') }];
    } catch {
      return []; // a global of a type without codec can still be set as bytes via LoadOptions
    }
  });

  const programs = object.programs.map((p) => {
    const cls = programClass(p.section);
    return `      /** \`${p.name}\` (section \`${p.section}\`). */\n      get ${key(p.name)}(): aya.${cls} {\n        return ebpf.program(${JSON.stringify(p.name)}${cls === 'Program' ? '' : `, aya.${cls}`});\n      },`;
  });

  const unused = (options.strings ?? []).filter((s) => !emitter.usedStrings.has(s));
  if (unused.length > 0) {
    throw new EbpfError('INVALID_ARGUMENT', `strings: ${unused.join(', ')} matched no member of a generated struct (write them as Type.member)`);
  }

  const imp = options.importFrom ?? 'aya-node';
  const source = [
    `// Generated by \`aya-node gen\` from ${object.path.split('/').pop()}. Do not edit: rebuild instead.`,
    `// Structs come from the object's ${object.btf ? 'BTF' : ''}${object.btf && object.dwarf ? ' and ' : ''}${object.dwarf ? 'DWARF' : ''}; sizes are checked by the codecs at run time.`,
    `/* eslint-disable */`,
    `import * as aya from ${JSON.stringify(imp)};`,
    ``,
    `const { codec } = aya;`,
    ``,
    ...emitter.decls,
    `/** Sizes in bytes of the generated structs, as the object lays them out. */`,
    `export const sizes = {\n${emitter.structs.map((s) => `  ${key(s.name)}: ${s.size},`).join('\n')}\n} as const;`,
    ``,
    `/** The object's global variables, set before its programs load. */`,
    `export interface Globals {\n${globals.map((g) => `  ${key(g.name)}?: ${tsType(g.codec)};`).join('\n')}\n}`,
    ``,
    `const globalCodecs: Record<string, aya.Codec<any>> = {\n${globals.map((g) => `  ${key(g.name)}: ${g.codec},`).join('\n')}\n};`,
    ``,
    `export interface LoadOptions extends Omit<aya.LoadOptions, 'globals'> {\n  globals?: Globals;\n}`,
    ``,
    `function once<T>(make: () => T): () => T {\n  let made = false;\n  let value: T;\n  return () => {\n    if (!made) {\n      value = make();\n      made = true;\n    }\n    return value;\n  };\n}`,
    ``,
    `/**`,
    ` * Loads the object (a path or its bytes): \`programs\` as their classes, \`maps\` with their codecs.`,
    ` * \`close()\` (or \`using\`) releases everything.`,
    ` */`,
    `export function load(source: string | Uint8Array, options: LoadOptions = {}) {`,
    `  const globals: Record<string, aya.GlobalValue> = {};`,
    `  for (const [name, value] of Object.entries(options.globals ?? {})) {`,
    `    const c = globalCodecs[name];`,
    `    if (!c) throw new TypeError(\`unknown global \\\`\${name}\\\` (known: \${Object.keys(globalCodecs).join(', ') || 'none'})\`);`,
    `    if (value !== undefined) globals[name] = { codec: c, value };`,
    `  }`,
    `  const ebpf = aya.Ebpf.load(source, { ...options, globals });`,
    `  return {`,
    `    ebpf,`,
    `    programs: {`,
    ...programs,
    `    },`,
    `    maps: {`,
    ...mapLines,
    ...openers,
    `    },`,
    `    close: () => ebpf.close(),`,
    `    [Symbol.dispose]: () => ebpf.close(),`,
    `  };`,
    `}`,
    ``,
    `export type Loaded = ReturnType<typeof load>;`,
    ``,
  ].join('\n');
  return { source, structs: emitter.structs };
}

import { statSync } from 'node:fs';
import * as native from './native';
import type { Codec } from './codec';
import { EbpfError, ebpfError, invalidArgument } from './errors';
import { Link } from './link';
import { EbpfLogs } from './streams/logs';
import { PerfEventArray, type PerfEventArrayOptions } from './streams/perf-event-array';
import { RingBuf, type RingBufOptions } from './streams/ring-buf';
import { openWith, type MapClass } from './maps/map';
import { StructOpsMap, type StructOpsDescriptor } from './maps/struct-ops';
import { Program, programClasses, type ProgramClass } from './programs';
import type { ProgramOwner } from './programs/program';
import * as validate from './validate';

/** A global variable's value: raw bytes, or a value with the codec that lays it out. */
export type GlobalValue = Uint8Array | { codec: Codec<any>; value: unknown };

export interface LoadOptions {
  /** Values for the object's global variables (`static`s), set before the programs load. */
  globals?: Record<string, GlobalValue>;
  /** Overrides of `max_entries`, by map name. */
  maxEntries?: Record<string, number>;
  /**
   * Value sizes, by map name: for maps whose loader picks the size (libbpf-tools' stack-trace
   * maps declare none), like libbpf's `bpf_map__set_value_size`.
   */
  valueSize?: Record<string, number>;
  /** Key sizes, by map name (`bpf_map__set_key_size`). */
  keySize?: Record<string, number>;
  /** `map_flags`, by map name (`bpf_map__set_map_flags`), e.g. `BPF_F_NO_PREALLOC` (1). */
  mapFlags?: Record<string, number>;
  /** Kernel BTF to use instead of `/sys/kernel/btf/vmlinux`. */
  btfPath?: string;
  /** Maps declared as pinned are pinned in (and reused from) this bpffs directory. */
  mapPinDirectory?: string;
  /** 0: log only on failure (default), 1: basic, 2: every instruction. */
  verifierLogLevel?: 0 | 1 | 2;
}

export type ProgramDescriptor = native.ProgramDescriptor;
export type MapDescriptor = native.MapDescriptor;

interface Closeable {
  close(): void;
}

/**
 * A loaded eBPF object file. Its maps exist from load on; its programs load into the kernel
 * when first attached. `close()` (or `using`) detaches every link and releases every fd that
 * came from it.
 *
 * ```ts
 * using obj = Ebpf.load('execsnoop.bpf.o');
 * obj.program('execsnoop', TracePoint).attach('syscalls', 'sys_enter_execve');
 * for await (const ev of obj.ringBuf('EVENTS', ExecEvent)) console.log(ev.pid, ev.filename);
 * ```
 *
 * Needs Linux 4.1 (what each program and map type needs is on its class).
 */
export class Ebpf implements Disposable, AsyncDisposable {
  readonly #native: native.EbpfObject;
  readonly #programs = new Map<string, Program>();
  readonly #children = new Set<Closeable>();
  /** The links among `#children` (which `closeAsync` leaves to the native release). */
  readonly #links = new Set<Link>();
  readonly #owner: ProgramOwner;

  private constructor(object: native.EbpfObject) {
    this.#native = object;
    this.#owner = {
      native: object,
      adopt: (link: Link) => (this.#links.add(link), this.#adopt(link)),
      map: (name, type, ...args) => this.map(name, type, ...args),
    };
  }

  /** Loads an object from a file path or from bytes (any `Uint8Array`, any alignment). */
  static load(source: string | Uint8Array, options: LoadOptions = {}): Ebpf {
    options = validate.options('options', options);
    const nativeOptions = toNativeOptions(options);
    if (typeof source === 'string') {
      validate.name('source', source);
      // Reading a FIFO or a device would block the event loop until a writer comes, if ever.
      const stat = statSync(source, { throwIfNoEntry: false });
      if (stat && !stat.isFile()) throw invalidArgument(`Ebpf.load: ${source} is not a regular file`);
      return new Ebpf(native.EbpfObject.loadFile(source, nativeOptions));
    }
    if (!(source instanceof Uint8Array)) {
      throw invalidArgument('Ebpf.load: expected a path or a Uint8Array');
    }
    const bytes = Buffer.from(source.buffer, source.byteOffset, source.byteLength);
    return new Ebpf(native.EbpfObject.load(bytes, nativeOptions));
  }

  /** The native object (benchmarks drive it directly). @internal */
  get nativeObject(): native.EbpfObject {
    return this.#native;
  }

  /** The programs in the object, with their kinds. */
  get programs(): ProgramDescriptor[] {
    return this.#native.programs();
  }

  /** The maps the object still owns (a map opened as a ring buffer etc. leaves this list). */
  get maps(): MapDescriptor[] {
    return this.#native.maps();
  }

  /**
   * The program `name`. With a class (`TracePoint`, ...) the program must be of that kind,
   * otherwise `EbpfError('WRONG_TYPE')`; without, it comes back as its kind's class.
   */
  program(name: string): Program;
  program<P extends Program>(name: string, type: ProgramClass<P>): P;
  program<P extends Program>(name: string, type?: ProgramClass<P>): Program {
    validate.name('name', name);
    if (type !== undefined) validate.callback('type', type);
    let program = this.#programs.get(name);
    if (!program) {
      const descriptor = this.programs.find((p) => p.name === name);
      if (!descriptor) {
        const known = this.programs.map((p) => p.name).join(', ') || 'none';
        throw ebpfError('NOT_FOUND', `no program named \`${name}\` in the object (programs: ${known})`);
      }
      const cls = programClasses.get(descriptor.kind) ?? Program;
      program = new cls(this.#owner, name, descriptor.kind);
      this.#programs.set(name, program);
    }
    if (type && !(program instanceof type) && type.kind === program.kind && type.prototype instanceof program.constructor) {
      // A specialisation of the program's class (e.g. Usdt of UProbe): same program, richer attach.
      program = new type(this.#owner, name, program.kind);
      this.#programs.set(name, program);
    }
    if (type && !(program instanceof type)) {
      throw new EbpfError('WRONG_TYPE', `program \`${name}\` is a ${program.kind} program, not a ${type.kind} program`);
    }
    return program;
  }

  /** The object's struct_ops variables (`SEC(".struct_ops")`, `SEC(".struct_ops.link")`). */
  get structOpsMaps(): StructOpsDescriptor[] {
    return this.#native.structOpsMaps();
  }

  /**
   * The struct_ops variable `name` (a C object's `SEC(".struct_ops")` or
   * `SEC(".struct_ops.link")` variable), to register with the kernel.
   *
   * ```ts
   * using registration = obj.structOps('my_ca').register();
   * ```
   */
  structOps(name: string): StructOpsMap {
    validate.name('name', name);
    const all = this.structOpsMaps;
    const descriptor = all.find((m) => m.name === name);
    if (!descriptor) {
      const known = all.map((m) => m.name).join(', ') || 'none';
      throw ebpfError('NOT_FOUND', `no struct_ops variable named \`${name}\` in the object (struct_ops variables: ${known})`);
    }
    return new StructOpsMap(this.#owner, descriptor);
  }

  /** Opens the ring buffer map `name`, decoding events with `codec` (raw `Buffer`s without). */
  ringBuf<T = Buffer>(name: string, codec?: Codec<T>, options: RingBufOptions = {}): RingBuf<T> {
    validate.name('name', name);
    validate.optionalCodec('codec', codec);
    options = validate.options('options', options);
    const { dropCounter } = options;
    if (dropCounter !== undefined && !this.maps.some((m) => m.name === dropCounter)) {
      throw ebpfError('NOT_FOUND', `no drop counter map named \`${dropCounter}\` in the object`);
    }
    const reader = this.#native.takeRingBuf(name);
    const drops = dropCounter === undefined ? undefined : () => this.#native.perCpuCounterSum(dropCounter);
    return this.#adopt(new RingBuf<T>(reader, name, codec, drops));
  }

  /** Opens the perf event array `name` with a buffer per online CPU. */
  perfEventArray<T = Buffer>(name: string, codec?: Codec<T>, options: PerfEventArrayOptions = {}): PerfEventArray<T> {
    validate.name('name', name);
    validate.optionalCodec('codec', codec);
    options = validate.options('options', options);
    const reader = this.#native.takePerfEventArray(name, options.pageCount);
    return this.#adopt(new PerfEventArray<T>(reader, name, codec));
  }

  /** The records this object's programs log with aya-log-ebpf (`AYA_LOGS`). */
  logs(): EbpfLogs {
    return this.#adopt(new EbpfLogs(this.#native.takeLogs()));
  }

  /**
   * Opens the object's map `name` as `type`, with the codecs that type takes. The map's kind
   * must match (`WRONG_TYPE` otherwise) and the codecs' sizes its key and value sizes
   * (`INVALID_ARGUMENT`), checked before anything is read or written.
   *
   * ```ts
   * const counts = obj.map('COUNTS', HashMap, codec.u32, codec.u64); // HashMap<number, bigint>
   * const jumps = obj.map('JUMP_TABLE', ProgramArray);
   * ```
   */
  map<M, A extends unknown[]>(name: string, type: MapClass<M, A>, ...args: A): M {
    validate.name('name', name);
    validate.mapClass('type', type);
    const handle = this.#native.openMap(name);
    const map = openWith(type, handle, args);
    this.#children.add(handle);
    keepAlive.set(map as object, this);
    return map;
  }

  /**
   * Pins the map `name` at `path` on bpffs: its contents outlive this object and process
   * until the pin is removed (`unpin(path)`). For maps declared pinned (`Array::pinned`,
   * `LIBBPF_PIN_BY_NAME`), `LoadOptions.mapPinDirectory` pins and reuses them automatically.
   */
  pinMap(name: string, path: string): void {
    this.#native.pinMap(name, path);
  }

  get closed(): boolean {
    return this.#native.closed;
  }

  /** Detaches all links, closes every map and stream opened from it, and unloads its programs. */
  close(): void {
    for (const child of this.#children) {
      try {
        child.close();
      } catch {
        // Closing must finish; a failing child is already being released by the object.
      }
    }
    this.#children.clear();
    this.#links.clear();
    this.#native.close();
  }

  /**
   * `close()` without blocking the event loop: closed at once (later calls are `CLOSED`), while
   * detaching the links and unloading the programs happens on a worker thread. Detaching a
   * `category/name` tracepoint or perf-event link waits for the kernel (an RCU grace period,
   * 50-70 ms per link on the machine this was measured on), which `close()` does on the
   * JavaScript thread. The promise resolves once everything is released; until then the pending
   * release keeps the process alive (so nothing is left behind at a normal exit).
   */
  closeAsync(): Promise<void> {
    for (const child of this.#children) {
      // Detached by the release, off this thread (unless the link has work to do here after).
      if (this.#links.has(child as Link) && (child as Link).detachesOffThread) continue;
      try {
        child.close();
      } catch {
        // as in close()
      }
    }
    this.#children.clear();
    this.#links.clear();
    return this.#native.closeAsync().then(() => undefined);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** `await using obj = Ebpf.load(...)`: `closeAsync()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.closeAsync();
  }

  #adopt<C extends Closeable>(child: C): C {
    this.#children.add(child);
    keepAlive.set(child, this);
    return child;
  }
}

/**
 * What came from an object keeps the object: a stream, link or map still in use must not see
 * its programs detached by the object's finalizer because the object itself went out of scope.
 */
const keepAlive = new WeakMap<object, Ebpf>();

function toNativeOptions(options: LoadOptions): native.LoadOptions {
  const globals: Record<string, Buffer> = {};
  for (const [name, value] of Object.entries(options.globals ?? {})) {
    if (value instanceof Uint8Array) {
      globals[name] = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    } else if (value && typeof value === 'object' && 'codec' in value) {
      globals[name] = value.codec.encode(value.value);
    } else {
      throw invalidArgument(`global \`${name}\`: expected bytes or { codec, value }`);
    }
  }
  return {
    globals,
    maxEntries: options.maxEntries,
    valueSize: u32Table('valueSize', options.valueSize),
    keySize: u32Table('keySize', options.keySize),
    mapFlags: u32Table('mapFlags', options.mapFlags),
    btfPath: options.btfPath,
    mapPinDirectory: options.mapPinDirectory,
    verifierLogLevel: options.verifierLogLevel,
  };
}

/** Checks a `{ mapName: u32 }` option. */
function u32Table(option: string, table: Record<string, number> | undefined): Record<string, number> | undefined {
  if (table === undefined) return undefined;
  if (table === null || typeof table !== 'object') throw new TypeError(`${option}: expected an object of map name -> number`);
  for (const [name, value] of Object.entries(table)) {
    if (typeof value !== 'number') throw new TypeError(`${option}.${name}: expected a number`);
    if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
      throw new RangeError(`${option}.${name}: expected an integer from 0 to 2^32-1, got ${value}`);
    }
  }
  return table;
}

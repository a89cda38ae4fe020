import * as native from './native';
import * as validate from './validate';

/** A program loaded on the system, as `bpftool prog show` lists it. */
export type LoadedProgram = native.LoadedProgram;
/** A map on the system, as `bpftool map show` lists it. */
export type LoadedMap = native.LoadedMap;
/** A link on the system, as `bpftool link show` lists it. */
export type LoadedLink = native.LoadedLink;

/** Every eBPF program loaded on the system (any process's). `runCount`/`runTimeNs` count only while stats are enabled. */
export function loadedPrograms(): LoadedProgram[] {
  return native.loadedPrograms();
}

/**
 * Every eBPF map on the system. Like `bpftool map show`, it opens each map by id for a moment;
 * on Linux 6.18 (seen here) that can keep a `prog_array` in the kernel for good when it lands
 * in the instant after the map's last fd was closed (a kernel race, reproduced with bpftool).
 */
export function loadedMaps(): LoadedMap[] {
  return native.loadedMaps();
}

/** Every eBPF link on the system. */
export function loadedLinks(): LoadedLink[] {
  return native.loadedLinks();
}

/** The loaded program with kernel id `id`, if it is still loaded. */
export function loadedProgram(id: number): LoadedProgram | undefined {
  validate.u32('id', id);
  return loadedPrograms().find((p) => p.id === id);
}

/**
 * Run-time statistics, switched on while this is open (`BPF_ENABLE_STATS`): the kernel
 * counts each program's runs and run time. `close()` (or `using`) switches them off again,
 * once no other holder keeps them on.
 *
 * ```ts
 * using stats = enableStats();
 * program.testRun({ data: packet, repeat: 100 });
 * console.log(loadedProgram(program.id!)?.runCount);
 * ```
 */
export class StatsScope implements Disposable {
  readonly #native: native.StatsScope;

  /** @internal */
  constructor(scope: native.StatsScope) {
    this.#native = scope;
  }

  get closed(): boolean {
    return this.#native.closed;
  }

  close(): void {
    this.#native.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Switches run-time statistics on until the returned scope is closed. */
export function enableStats(): StatsScope {
  return new StatsScope(native.StatsScope.enable());
}

// The one vocabulary for kinds: the kernel's map and program types, named as the kernel (and
// bpftool) name them. The table lives in the native core (crates/aya-node/src/kinds.rs,
// derived from the kernel's generated bindings); every listing uses it: `Ebpf.maps[].kind`,
// `Ebpf.programs[].type`, `loadedMaps()`, `loadedPrograms()`, `MapType`, the feature probes.

import * as native from './native';

const table = native.kernelTypes();
const byNumber = (list: native.KernelType[]) => new Map(list.map((t) => [t.value, t.name]));
const byName = (list: native.KernelType[]) => new Map(list.map((t) => [t.name, t.value]));
const mapNames = byNumber(table.maps);
const programNames = byNumber(table.programs);

/** Every kernel map type this build knows, by bpftool name (`hash` -> 1, `devmap_hash` -> 25, ...). */
export const mapTypes: ReadonlyMap<string, number> = byName(table.maps);

/** Every kernel program type this build knows, by bpftool name (`sched_cls` -> 3, `tracing` -> 26, ...). */
export const programTypes: ReadonlyMap<string, number> = byName(table.programs);

/** The name of kernel map type number `n` (`type N` for a type newer than this build). */
export function mapTypeName(n: number): string {
  return mapNames.get(n) ?? `type ${n}`;
}

/** The name of kernel program type number `n` (`type N` for a type newer than this build). */
export function programTypeName(n: number): string {
  return programNames.get(n) ?? `type ${n}`;
}

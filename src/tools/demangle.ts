// Readable names for C++ (Itanium ABI, `_Z...`) and Rust (legacy `_ZN...E` and v0 `_R...`)
// symbols, through the native core (cpp_demangle and rustc-demangle).

import * as native from '../native';

/** Whether `name` looks like an Itanium C++ or Rust mangled symbol. */
export function isMangled(name: string): boolean {
  return /^(_Z|__Z|_R)[A-Za-z0-9_]/.test(name);
}

const cache = new Map<string, string>();
const CACHE_LIMIT = 100_000;

/**
 * Demangles each name (names that are not mangled, or fail to demangle, come back unchanged).
 *
 * ```ts
 * demangle(['_ZN4node5StartEiPPc']); // ['node::Start(int, char**)']
 * ```
 */
export function demangle(names: string[]): string[] {
  if (!Array.isArray(names) || names.some((n) => typeof n !== 'string')) {
    throw new TypeError('demangle: `names` must be an array of strings');
  }
  const todo = [...new Set(names.filter((n) => isMangled(n) && !cache.has(n)))];
  if (todo.length > 0) {
    const out = native.demangleSymbols(todo);
    if (cache.size + todo.length > CACHE_LIMIT) cache.clear();
    todo.forEach((n, i) => cache.set(n, out[i] ?? n));
  }
  return names.map((n) => cache.get(n) ?? n);
}

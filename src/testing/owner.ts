// Test resources clean up after themselves: through `using` (Symbol.dispose), or through the
// test's own teardown when one is given (ava's `t`, node:test's `t.after` wrapped the same way).

/** Anything that runs a function when the test ends: ava's `t` is one. */
export interface TeardownOwner {
  teardown(fn: () => void | Promise<void>): void;
}

let counter = 0;
/** A short name unique to this process, e.g. for namespaces and interfaces (IFNAMSIZ is 16). */
export function uniqueName(prefix: string): string {
  if (typeof prefix !== 'string') throw new TypeError('prefix: expected a string');
  return `${prefix}${process.pid % 100000}${(counter++).toString(36)}`;
}

export function own<T extends Disposable>(resource: T, owner?: TeardownOwner): T {
  owner?.teardown(() => resource[Symbol.dispose]());
  return resource;
}

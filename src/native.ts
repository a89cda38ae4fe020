// The generated N-API loader (index.js at the package root) and its types (index.d.ts).
// Everything the TypeScript layer needs from Rust goes through this module, and this is the one
// place where native errors become `EbpfError`s: every exported function, static and instance
// method and getter is wrapped once here, so no call site converts errors itself.
// eslint-disable-next-line @typescript-eslint/no-require-imports
import raw = require('../index.js');
import { fromNative } from './errors';

type AnyFn = (this: unknown, ...args: unknown[]) => unknown;

/** Marks wrapped functions, so that a second copy of this module does not wrap them again. */
const CONVERTING = Symbol.for('aya-node.converting');

/**
 * The rule for every value crossing into the native core, whatever the call: numbers are
 * integers from 0 to 2^32-1 (`offset`s up to 2^53: file offsets), strings hold no NUL. napi
 * would wrap the others silently (1.5 -> 1, -1 -> 4294967295, 2^32 -> 0, NaN -> 0) or cut a
 * C string short. The public classes check their arguments by name first; this catches the rest.
 */
function checkValue(method: string, where: string, value: unknown, depth: number): void {
  if (typeof value === 'number') {
    const max = where.endsWith('.offset') ? Number.MAX_SAFE_INTEGER : 0xffffffff;
    if (!Number.isInteger(value) || value < 0 || value > max) {
      throw new RangeError(`${method}: ${where} must be an integer from 0 to ${max}, got ${value}`);
    }
  } else if (typeof value === 'string') {
    if (value.includes('\0')) throw new RangeError(`${method}: ${where} must not contain a NUL character`);
  } else if (depth < 2 && value !== null && typeof value === 'object' && !ArrayBuffer.isView(value)) {
    for (const [key, item] of Object.entries(value)) checkValue(method, `${where}.${key}`, item, depth + 1);
  }
}

/**
 * `checkValue` for argument `index` of a call, which names the argument only when it throws: a
 * stream's read path makes several native calls per wake-up, and the checks must not allocate.
 */
function checkArgument(method: string, index: number, value: unknown): void {
  switch (typeof value) {
    case 'number':
      if (Number.isInteger(value) && value >= 0 && value <= 0xffffffff) return;
      break;
    case 'string':
      if (!value.includes('\0')) return;
      break;
    case 'object':
      if (value === null || ArrayBuffer.isView(value)) return;
      break;
    default:
      return; // functions, booleans, bigints and undefined: napi checks them itself
  }
  checkValue(method, `argument ${index + 1}`, value, 0);
}

/** `fn`, with its arguments checked and thrown errors and rejected promises converted. */
function converting(fn: AnyFn, method: string): AnyFn {
  if (CONVERTING in fn) return fn;
  const out = function (this: unknown, ...args: unknown[]) {
    for (let i = 0; i < args.length; i++) checkArgument(method, i, args[i]);
    let result: unknown;
    try {
      result = fn.apply(this, args);
    } catch (err) {
      throw fromNative(err, method);
    }
    if (result instanceof Promise) {
      return result.catch((err: unknown) => {
        throw fromNative(err, method);
      });
    }
    return result;
  };
  Object.defineProperty(out, CONVERTING, { value: true });
  return out;
}

/** Wraps the methods and getters of a class's prototype in place. */
function convertMembers(target: object): void {
  for (const name of Object.getOwnPropertyNames(target)) {
    if (name === 'constructor' || name === 'prototype' || name === 'length' || name === 'name' || name === 'arguments' || name === 'caller') continue;
    const d = Object.getOwnPropertyDescriptor(target, name);
    if (!d?.configurable) continue;
    if (typeof d.value === 'function') Object.defineProperty(target, name, { ...d, value: converting(d.value as AnyFn, name) });
    else if (d.get) Object.defineProperty(target, name, { ...d, get: converting(d.get as AnyFn, name) });
  }
}

/**
 * N-API defines a class's static methods read-only: in place of the class goes a constructor
 * sharing its prototype (so `instanceof` and the prototype's methods are the class's), with the
 * statics wrapped.
 */
function withConvertingStatics(cls: object): object {
  const target = cls as new (...args: unknown[]) => object;
  const statics = function (this: unknown, ...args: unknown[]) {
    return Reflect.construct(target, args);
  } as unknown as Record<string, unknown> & { prototype: object };
  statics.prototype = target.prototype;
  Object.defineProperty(statics, 'name', { value: target.name });
  for (const name of Object.getOwnPropertyNames(cls)) {
    const d = Object.getOwnPropertyDescriptor(cls, name);
    if (name === 'prototype' || typeof d?.value !== 'function') continue;
    const fn = converting(d.value as AnyFn, name);
    Object.defineProperty(statics, name, { value: (...args: unknown[]) => fn.apply(cls, args), enumerable: true });
  }
  return statics;
}

// In place: `raw` stays the module object, so its declarations (classes as types) still apply.
const bindings = raw as unknown as Record<string, unknown>;
for (const [name, value] of Object.entries(bindings)) {
  if (typeof value !== 'function') continue;
  const isClass = Object.getOwnPropertyNames((value as { prototype?: object }).prototype ?? {}).length > 1;
  if (isClass) {
    convertMembers((value as { prototype: object }).prototype);
    bindings[name] = withConvertingStatics(value);
  } else {
    bindings[name] = converting(value as AnyFn, name);
  }
}

export = raw;

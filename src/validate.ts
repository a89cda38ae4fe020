// Argument checks at the public boundary: a wrong type is a `TypeError`, a value out of range a
// `RangeError`, each naming the argument. Nothing invalid reaches the native core, where napi
// would report it without the argument's name (or, for some inputs, wrap it silently).

const describe = (value: unknown): string => {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === 'bigint') return `${value}n`;
  if (value === null || typeof value !== 'object') return typeof value === 'function' ? 'a function' : String(value);
  return Array.isArray(value) ? 'an array' : `an object`;
};

/** An integer in [min, max]; rejects NaN, fractions, infinities and non-numbers. */
export function integer(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${describe(value)}`);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}, got ${describe(value)}`);
  }
  return value;
}

/** A `u32` (ids, indexes, sizes, flags, pids). */
export const u32 = (name: string, value: unknown): number => integer(name, value, 0, 0xffffffff);

/** `u32`, but `undefined` passes through. */
export const optionalU32 = (name: string, value: unknown): number | undefined => (value === undefined ? undefined : u32(name, value));

/** A finite number in [min, max]. */
export function finite(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${describe(value)}`);
  if (!Number.isFinite(value) || value < min || value > max) throw new RangeError(`${name} must be a number from ${min} to ${max}, got ${describe(value)}`);
  return value;
}

/** A non-empty string without NUL bytes (the kernel takes C strings: a NUL would cut it short). */
export function name(argument: string, value: unknown): string {
  if (typeof value !== 'string') throw new TypeError(`${argument} must be a string, got ${describe(value)}`);
  if (value.length === 0) throw new RangeError(`${argument} must not be empty`);
  if (value.includes('\0')) throw new RangeError(`${argument} must not contain a NUL character, got ${describe(value)}`);
  if (value.length > 4096) throw new RangeError(`${argument} is ${value.length} characters, more than the kernel's 4096`);
  return value;
}

/** `name`, but `undefined` passes through. */
export const optionalName = (argument: string, value: unknown): string | undefined => (value === undefined ? undefined : name(argument, value));

/** An options object, or `undefined` (then `{}`). */
export function options<T extends object>(argument: string, value: T | undefined): T {
  if (value === undefined) return {} as T;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new TypeError(`${argument} must be an object, got ${describe(value)}`);
  return value;
}

/** Bytes: a Buffer or any Uint8Array. */
export function bytes(argument: string, value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${argument} must be a Buffer or Uint8Array, got ${describe(value)}`);
  return value;
}

/** One of `choices`. */
export function oneOf<T extends string>(argument: string, value: unknown, choices: readonly T[]): T {
  if (typeof value !== 'string') throw new TypeError(`${argument} must be one of ${choices.join(', ')}, got ${describe(value)}`);
  if (!choices.includes(value as T)) throw new RangeError(`${argument} must be one of ${choices.join(', ')}, got ${describe(value)}`);
  return value as T;
}

/** A boolean, or `undefined`. */
export function optionalBoolean(argument: string, value: unknown): boolean | undefined {
  if (value !== undefined && typeof value !== 'boolean') throw new TypeError(`${argument} must be a boolean, got ${describe(value)}`);
  return value;
}

/** An `AbortSignal`, or `undefined`. */
export function optionalSignal(argument: string, value: unknown): AbortSignal | undefined {
  if (value !== undefined && !(value instanceof AbortSignal)) throw new TypeError(`${argument} must be an AbortSignal, got ${describe(value)}`);
  return value;
}

/** A network interface: its name, or its index (from 1). */
export function iface(argument: string, value: unknown): string | number {
  if (typeof value === 'number') return integer(argument, value, 1, 0xffffffff);
  if (typeof value === 'string') {
    if (name(argument, value).length > 15) throw new RangeError(`${argument}: interface names have at most 15 characters, got ${describe(value)}`);
    return value;
  }
  throw new TypeError(`${argument} must be an interface name or index, got ${describe(value)}`);
}

/** A codec: an object with a byte `size` and `encodeInto`/`decode`. */
export function codec<C>(argument: string, value: C): C {
  const c = value as { size?: unknown; decode?: unknown; encodeInto?: unknown } | null;
  if (c === null || typeof c !== 'object' || typeof c.size !== 'number' || typeof c.decode !== 'function' || typeof c.encodeInto !== 'function') {
    throw new TypeError(`${argument} must be a codec (e.g. codec.u32), got ${describe(value)}`);
  }
  return value;
}

/** A codec or `undefined`. */
export const optionalCodec = <C>(argument: string, value: C | undefined): C | undefined => (value === undefined ? undefined : codec(argument, value));

/** A function. */
export function callback<F>(argument: string, value: F): F {
  if (typeof value !== 'function') throw new TypeError(`${argument} must be a function, got ${describe(value)}`);
  return value;
}

/** An iterable other than a string (whose characters would be taken as entries). */
export function iterable<T>(argument: string, value: Iterable<T>): Iterable<T> {
  if (value === null || typeof value !== 'object' || typeof (value as { [Symbol.iterator]?: unknown })[Symbol.iterator] !== 'function') {
    throw new TypeError(`${argument} must be an iterable (e.g. an array), got ${describe(value)}`);
  }
  return value;
}

/** A string (any content but NUL). */
export function string(argument: string, value: unknown): string {
  if (typeof value !== 'string') throw new TypeError(`${argument} must be a string, got ${describe(value)}`);
  if (value.includes('\0')) throw new RangeError(`${argument} must not contain a NUL character`);
  return value;
}

/** A map class (`HashMap`, `ArrayMap`, ...): one with the `mapTypes` every map class has. */
export function mapClass<C>(argument: string, value: C): C {
  if (typeof value !== 'function' || !Array.isArray((value as { mapTypes?: unknown }).mapTypes)) {
    throw new TypeError(`${argument} must be a map class such as HashMap, got ${describe(value)}`);
  }
  return value;
}

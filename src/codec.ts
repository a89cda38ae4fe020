// Codecs: descriptions of C data laid out exactly as `#[repr(C)]` Rust (or C) lays it out.
// A codec knows its size and alignment, decodes from and encodes into a Buffer at an offset,
// and carries its TypeScript type, so `Infer<typeof myStruct>` is the decoded object's type.

import { invalidArgument } from './errors';
import * as validate from './validate';

/** Largest codec: 1 GiB (a map value or event is far smaller). */
const MAX_CODEC_SIZE = 1 << 30;

/** `buf` is bytes with room for `codec` at `offset` (a cheap check: decode is a hot path). */
function checkRange(codec: { name: string; size: number }, buf: unknown, offset: unknown): void {
  if (!(buf instanceof Uint8Array)) throw new TypeError(`${codec.name}: buf must be a Buffer, got ${typeof buf}`);
  if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0 || offset + codec.size > buf.length) {
    throw new RangeError(`${codec.name}: offset must be an integer from 0 to ${buf.length - codec.size}, got ${String(offset)}`);
  }
}

export interface Codec<T> {
  /** A readable description, e.g. `u32` or `struct { pid: u32, comm: char[16] }`. */
  readonly name: string;
  /** Size in bytes, padding included. */
  readonly size: number;
  /** Alignment in bytes. */
  readonly align: number;
  /** Reads a value at `offset` (default 0). */
  decode(buf: Buffer, offset?: number): T;
  /** Writes `value` at `offset`; throws `EbpfError('INVALID_ARGUMENT')` if it does not fit. */
  encodeInto(value: T, buf: Buffer, offset: number): void;
  /** Returns a new buffer of `size` bytes holding `value`. */
  encode(value: T): Buffer;
  /**
   * A JavaScript expression reading the value from DataView `v` at offset expression `at`,
   * so a struct can compile one decoder for all its fields. @internal
   */
  readonly viewExpression?: (at: string) => string;
}

/** The TypeScript type a codec decodes to. */
export type Infer<C> = C extends Codec<infer T> ? T : never;

abstract class BaseCodec<T> implements Codec<T> {
  abstract readonly name: string;
  abstract readonly size: number;
  abstract readonly align: number;
  abstract decode(buf: Buffer, offset?: number): T;
  abstract encodeInto(value: T, buf: Buffer, offset: number): void;

  encode(value: T): Buffer {
    const buf = Buffer.alloc(this.size);
    this.encodeInto(value, buf, 0);
    return buf;
  }
}

class NumberCodec extends BaseCodec<number> {
  constructor(
    readonly name: string,
    readonly size: number,
    private readonly min: number,
    private readonly max: number,
    private readonly read: (buf: Buffer, offset: number) => number,
    private readonly write: (buf: Buffer, value: number, offset: number) => void,
    private readonly integer: boolean,
    /** The DataView method that reads this type, e.g. `getUint32`. */
    private readonly viewGetter: string,
  ) {
    super();
  }

  readonly viewExpression = (at: string) => `v.${this.viewGetter}(${at}, true)`;

  get align(): number {
    return this.size;
  }

  decode(buf: Buffer, offset = 0): number {
    checkRange(this, buf, offset);
    return this.read(buf, offset);
  }

  encodeInto(value: number, buf: Buffer, offset: number): void {
    checkRange(this, buf, offset);
    if (typeof value !== 'number' || Number.isNaN(value)) {
      throw invalidArgument(`${this.name}: expected a number, got ${typeof value}`);
    }
    if (this.integer && (!Number.isInteger(value) || value < this.min || value > this.max)) {
      throw invalidArgument(`${this.name}: ${String(value)} is out of range [${this.min}, ${this.max}]`);
    }
    this.write(buf, value, offset);
  }
}

class BigIntCodec extends BaseCodec<bigint> {
  readonly size = 8;
  readonly align = 8;
  private readonly min: bigint;
  private readonly max: bigint;

  constructor(readonly name: string, private readonly signed: boolean) {
    super();
    this.min = signed ? -(1n << 63n) : 0n;
    this.max = signed ? (1n << 63n) - 1n : (1n << 64n) - 1n;
  }

  decode(buf: Buffer, offset = 0): bigint {
    checkRange(this, buf, offset);
    return this.signed ? buf.readBigInt64LE(offset) : buf.readBigUInt64LE(offset);
  }

  readonly viewExpression = (at: string) => `v.${this.signed ? 'getBigInt64' : 'getBigUint64'}(${at}, true)`;

  encodeInto(value: bigint, buf: Buffer, offset: number): void {
    checkRange(this, buf, offset);
    if (typeof value !== 'bigint') {
      throw invalidArgument(`${this.name}: expected a bigint, got ${typeof value}`);
    }
    if (value < this.min || value > this.max) {
      throw invalidArgument(`${this.name}: ${String(value)} is out of range [${this.min}, ${this.max}]`);
    }
    if (this.signed) buf.writeBigInt64LE(value, offset);
    else buf.writeBigUInt64LE(value, offset);
  }
}

export const u8: Codec<number> = new NumberCodec('u8', 1, 0, 0xff, (b, o) => b.readUInt8(o), (b, v, o) => b.writeUInt8(v, o), true, 'getUint8');
export const i8: Codec<number> = new NumberCodec('i8', 1, -0x80, 0x7f, (b, o) => b.readInt8(o), (b, v, o) => b.writeInt8(v, o), true, 'getInt8');
export const u16: Codec<number> = new NumberCodec('u16', 2, 0, 0xffff, (b, o) => b.readUInt16LE(o), (b, v, o) => b.writeUInt16LE(v, o), true, 'getUint16');
export const i16: Codec<number> = new NumberCodec('i16', 2, -0x8000, 0x7fff, (b, o) => b.readInt16LE(o), (b, v, o) => b.writeInt16LE(v, o), true, 'getInt16');
export const u32: Codec<number> = new NumberCodec('u32', 4, 0, 0xffffffff, (b, o) => b.readUInt32LE(o), (b, v, o) => b.writeUInt32LE(v, o), true, 'getUint32');
export const i32: Codec<number> = new NumberCodec('i32', 4, -0x80000000, 0x7fffffff, (b, o) => b.readInt32LE(o), (b, v, o) => b.writeInt32LE(v, o), true, 'getInt32');
export const f32: Codec<number> = new NumberCodec('f32', 4, -Infinity, Infinity, (b, o) => b.readFloatLE(o), (b, v, o) => b.writeFloatLE(v, o), false, 'getFloat32');
export const f64: Codec<number> = new NumberCodec('f64', 8, -Infinity, Infinity, (b, o) => b.readDoubleLE(o), (b, v, o) => b.writeDoubleLE(v, o), false, 'getFloat64');
export const u64: Codec<bigint> = new BigIntCodec('u64', false);
export const i64: Codec<bigint> = new BigIntCodec('i64', true);

class BoolCodec extends BaseCodec<boolean> {
  readonly name = 'bool';
  readonly size = 1;
  readonly align = 1;
  decode(buf: Buffer, offset = 0): boolean {
    checkRange(this, buf, offset);
    return buf[offset] !== 0;
  }
  readonly viewExpression = (at: string) => `v.getUint8(${at}) !== 0`;
  encodeInto(value: boolean, buf: Buffer, offset: number): void {
    checkRange(this, buf, offset);
    if (typeof value !== 'boolean') throw invalidArgument(`bool: expected a boolean, got ${typeof value}`);
    buf[offset] = value ? 1 : 0;
  }
}
export const bool: Codec<boolean> = new BoolCodec();

class CStringCodec extends BaseCodec<string> {
  readonly align = 1;
  readonly name: string;
  constructor(readonly size: number) {
    super();
    this.name = `char[${size}]`;
  }
  /** Up to the first NUL, or all `size` bytes when there is none. */
  decode(buf: Buffer, offset = 0): string {
    checkRange(this, buf, offset);
    // The NUL is found here, within the field: `buf.indexOf(0, offset)` is a native call per
    // string, and with no NUL in the field it scanned on through the rest of the buffer.
    const limit = offset + this.size;
    let stop = offset;
    while (stop < limit && buf[stop] !== 0) stop++;
    return buf.toString('utf8', offset, stop);
  }
  /** Writes UTF-8 and NUL-fills the rest; a string of exactly `size` bytes is kept without NUL. */
  encodeInto(value: string, buf: Buffer, offset: number): void {
    checkRange(this, buf, offset);
    if (typeof value !== 'string') throw invalidArgument(`${this.name}: expected a string, got ${typeof value}`);
    const bytes = Buffer.from(value, 'utf8');
    if (bytes.length > this.size) {
      throw invalidArgument(`${this.name}: "${String(value)}" is ${bytes.length} bytes, more than ${this.size}`);
    }
    bytes.copy(buf, offset);
    buf.fill(0, offset + bytes.length, offset + this.size);
  }
}
/** A fixed-size C string such as `char comm[16]`. */
export function cstring(size: number): Codec<string> {
  validate.integer('size', size, 1, MAX_CODEC_SIZE);
  return new CStringCodec(size);
}

class BytesCodec extends BaseCodec<Buffer> {
  readonly align = 1;
  readonly name: string;
  constructor(readonly size: number) {
    super();
    this.name = `u8[${size}]`;
  }
  decode(buf: Buffer, offset = 0): Buffer {
    checkRange(this, buf, offset);
    return Buffer.from(buf.subarray(offset, offset + this.size));
  }
  encodeInto(value: Buffer, buf: Buffer, offset: number): void {
    checkRange(this, buf, offset);
    if (!(value instanceof Uint8Array) || value.length !== this.size) {
      throw invalidArgument(`${this.name}: expected ${this.size} bytes`);
    }
    buf.set(value, offset);
  }
}
export class PaddingCodec extends BaseCodec<undefined> {
  readonly align = 1;
  readonly name: string;
  constructor(readonly size: number) {
    super();
    this.name = `padding[${size}]`;
  }
  decode(): undefined {
    return undefined;
  }
  encodeInto(_value: undefined, buf: Buffer, offset: number): void {
    checkRange(this, buf, offset);
    buf.fill(0, offset, offset + this.size);
  }
  readonly viewExpression = () => 'undefined';
}
/**
 * Bytes a struct reserves but nobody reads (explicit C padding, reserved fields): they take
 * their room in the layout, decode as `undefined` (costing nothing) and encode as zeros.
 */
export function padding(size: number): PaddingCodec {
  validate.integer('size', size, 0, MAX_CODEC_SIZE);
  return new PaddingCodec(size);
}

/** Raw bytes of a fixed length. */
export function bytes(size: number): Codec<Buffer> {
  validate.integer('size', size, 0, MAX_CODEC_SIZE);
  return new BytesCodec(size);
}

class ArrayCodec<T> extends BaseCodec<T[]> {
  readonly name: string;
  readonly size: number;
  readonly align: number;
  constructor(private readonly element: Codec<T>, readonly length: number) {
    super();
    this.name = `${element.name}[${length}]`;
    this.size = element.size * length;
    this.align = element.align;
  }
  decode(buf: Buffer, offset = 0): T[] {
    checkRange(this, buf, offset);
    const out = new Array<T>(this.length);
    for (let i = 0; i < this.length; i++) out[i] = this.element.decode(buf, offset + i * this.element.size);
    return out;
  }
  encodeInto(value: T[], buf: Buffer, offset: number): void {
    checkRange(this, buf, offset);
    if (!Array.isArray(value) || value.length !== this.length) {
      throw invalidArgument(`${this.name}: expected an array of ${this.length} elements`);
    }
    for (let i = 0; i < this.length; i++) this.element.encodeInto(value[i], buf, offset + i * this.element.size);
  }
}
/** A fixed-length C array `T[length]`. */
export function array<T>(element: Codec<T>, length: number): Codec<T[]> {
  validate.codec('element', element);
  validate.integer('length', length, 0, Math.floor(MAX_CODEC_SIZE / Math.max(1, element.size)));
  return new ArrayCodec(element, length);
}

type Fields = Record<string, Codec<unknown>>;
/** A struct's decoded value: every field except `padding(...)` ones. */
export type StructValue<F extends Fields> = { [K in keyof F as F[K] extends PaddingCodec ? never : K]: Infer<F[K]> };

const alignUp = (n: number, align: number) => Math.ceil(n / align) * align;

/**
 * Builds `(b, v, o) => ({ field: <read>, ... })` for a struct layout: numbers, bigints and
 * bools are read from the DataView `v` inline, nested structs through their own compiled
 * decoder, anything else through its codec's `decode`.
 */
function compileDecoder(layout: Array<[string, Codec<unknown>, number]>): Function {
  const fields = layout.flatMap(([key, codec, at], i) => {
    if (codec instanceof PaddingCodec) return [];
    const offset = `o + ${at}`;
    const read =
      codec instanceof StructCodec ? `c[${i}].decodeWithView(b, v, ${offset})`
      : codec.viewExpression ? codec.viewExpression(offset)
      : `c[${i}].decode(b, ${offset})`;
    return [`${JSON.stringify(key)}: ${read}`];
  });
  const codecs = layout.map(([, codec]) => codec);
  return new Function('c', `return function decode(b, v, o) { return { ${fields.join(', ')} }; };`)(codecs);
}

export class StructCodec<F extends Fields> extends BaseCodec<StructValue<F>> {
  readonly name: string;
  readonly size: number;
  readonly align: number;
  /** Byte offset of each field, with C padding applied. */
  readonly offsets: Readonly<Record<keyof F, number>>;
  private readonly layout: Array<[string, Codec<unknown>, number]>;

  constructor(readonly fields: F) {
    super();
    let offset = 0;
    let align = 1;
    const offsets: Record<string, number> = {};
    this.layout = [];
    for (const [key, codec] of Object.entries(fields)) {
      offset = alignUp(offset, codec.align);
      offsets[key] = offset;
      this.layout.push([key, codec, offset]);
      offset += codec.size;
      align = Math.max(align, codec.align);
    }
    this.align = align;
    this.size = alignUp(offset, align);
    this.offsets = offsets as Record<keyof F, number>;
    this.name = `struct { ${this.layout.map(([k, c]) => `${k}: ${c.name}`).join(', ')} }`;
    this.decodeWithView = compileDecoder(this.layout) as (buf: Buffer, view: DataView, offset: number) => StructValue<F>;
  }


  /**
   * Decodes from `buf` at `offset`, given a DataView `view` over all of `buf`: a decoder
   * compiled for this layout (one object literal, fields read inline), so decoding many
   * events from one batch costs no more than hand-written code. @internal
   */
  readonly decodeWithView: (buf: Buffer, view: DataView, offset: number) => StructValue<F>;

  decode(buf: Buffer, offset = 0): StructValue<F> {
    checkRange(this, buf, offset);
    return this.decodeWithView(buf, new DataView(buf.buffer, buf.byteOffset, buf.byteLength), offset);
  }

  /** Padding bytes are written as zero, so equal values encode to equal keys. */
  encodeInto(value: StructValue<F>, buf: Buffer, offset: number): void {
    checkRange(this, buf, offset);
    if (typeof value !== 'object' || value === null) throw invalidArgument(`${this.name}: expected an object`);
    buf.fill(0, offset, offset + this.size);
    for (const [key, codec, at] of this.layout) {
      if (codec instanceof PaddingCodec) continue; // already zero
      if (!(key in value)) throw invalidArgument(`${this.name}: missing field \`${key}\``);
      try {
        codec.encodeInto((value as Record<string, unknown>)[key], buf, offset + at);
      } catch (err) {
        if (err instanceof Error) err.message = `field \`${key}\`: ${err.message}`;
        throw err;
      }
    }
  }
}
/**
 * A function decoding `codec` values from `buf` at any offset: for structs, one DataView is
 * made for the whole buffer (e.g. a batch of events) instead of one per value. @internal
 */
export function decoderFor<T>(codec: Codec<T>, buf: Buffer): (offset: number) => T {
  validate.codec('codec', codec);
  validate.bytes('buf', buf);
  if (codec instanceof StructCodec) {
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    return (offset) => codec.decodeWithView(buf, view, offset) as T;
  }
  return (offset) => codec.decode(buf, offset);
}

/** A C struct with natural alignment and padding, fields in declaration order. */
export function struct<F extends Fields>(fields: F): StructCodec<F> {
  if (fields === null || typeof fields !== 'object' || Array.isArray(fields)) throw new TypeError('fields must be an object of codecs');
  for (const [name, field] of Object.entries(fields)) validate.codec(`fields.${name}`, field);
  return new StructCodec(fields);
}

import type * as native from './native';
import { invalidArgument } from './errors';
import * as validate from './validate';

/** Input for {@link Program.testRun}. */
export interface TestRunOptions {
  /** Input data: the packet for XDP, TC, socket filter and cgroup_skb programs. */
  data?: Uint8Array;
  /**
   * Room for the output data, in bytes (default: input length + 256, since programs may grow
   * packets); or a buffer, which receives the output data as well.
   */
  dataOut?: number | Uint8Array;
  /**
   * Input context: e.g. a `struct __sk_buff` or `struct xdp_md` prefix, or the `u64` arguments
   * of a raw tracepoint.
   */
  ctx?: Uint8Array;
  /** Room for the output context, in bytes (default: the input context's length). */
  ctxOut?: number;
  /** Run this many times; `duration` is then the average per run. Default 1. */
  repeat?: number;
  /** Run on this CPU. */
  cpu?: number;
  /** Raw `BPF_F_TEST_*` flags, or-ed in (e.g. `BPF_F_TEST_XDP_LIVE_FRAMES` = 2). */
  flags?: number;
  /** Batch size for XDP live frames. */
  batchSize?: number;
}

/** What {@link Program.testRun} returns. */
export interface TestRunResult {
  /** The program's return value (e.g. an XDP verdict: 1 drop, 2 pass, 3 tx, 4 redirect). */
  returnValue: number;
  /** Average nanoseconds per run, as the kernel measured it. */
  duration: number;
  /** The packet after the program ran (when `data` was given). */
  data?: Buffer;
  /** The context after the program ran (when `ctx` was given). */
  ctx?: Buffer;
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function u32(name: string, value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw invalidArgument(`testRun: ${name} must be an integer from 0 to 2^32-1, got ${value}`);
  }
  return value;
}

/** @internal Runs program `name` of `object` with BPF_PROG_TEST_RUN. */
export function testRunProgram(object: native.EbpfObject, name: string, options: TestRunOptions): TestRunResult {
  options = validate.options('options', options);
  const { dataOut } = options;
  const result = object.testRun(name, {
      data: options.data && toBuffer(options.data),
      dataOutSize: u32('dataOut', typeof dataOut === 'number' ? dataOut : dataOut?.byteLength),
      ctx: options.ctx && toBuffer(options.ctx),
      ctxOutSize: u32('ctxOut', options.ctxOut),
      repeat: u32('repeat', options.repeat),
      cpu: u32('cpu', options.cpu),
      flags: u32('flags', options.flags),
      batchSize: u32('batchSize', options.batchSize),
    });
  if (dataOut instanceof Uint8Array && result.data) dataOut.set(result.data.subarray(0, dataOut.byteLength));
  const out: TestRunResult = { returnValue: result.returnValue, duration: result.duration };
  if (result.data) out.data = result.data;
  if (result.ctx) out.ctx = result.ctx;
  return out;
}

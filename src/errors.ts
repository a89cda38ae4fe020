import { constants } from 'node:os';

/** What went wrong, as a stable string. */
export type EbpfErrorCode =
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'PARSE'
  | 'VERIFIER'
  | 'KERNEL'
  | 'CLOSED'
  | 'BUSY'
  | 'PERMISSION'
  | 'WRONG_TYPE'
  | 'UNSUPPORTED';

export interface EbpfErrorDetails {
  errno?: number;
  syscall?: string;
  verifierLog?: string;
  /** The program concerned (e.g. the one the verifier rejected). */
  program?: string;
  cause?: unknown;
}

const errnoNames = new Map<number, string>(
  Object.entries(constants.errno).map(([name, value]) => [value as number, name]),
);

/** Every error aya-node throws is an `EbpfError`. */
export class EbpfError extends Error {
  override name = 'EbpfError';
  /** Stable category of the failure. */
  readonly code: EbpfErrorCode;
  /** The kernel's errno, when a syscall failed. */
  readonly errno?: number;
  /** The errno's symbolic name, e.g. `EINVAL`. */
  readonly errnoName?: string;
  /** The syscall (or bpf command) that failed. */
  readonly syscall?: string;

  constructor(code: EbpfErrorCode, message: string, details: EbpfErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    if (details.errno !== undefined) {
      this.errno = details.errno;
      this.errnoName = errnoNames.get(details.errno);
    }
    if (details.syscall !== undefined) this.syscall = details.syscall;
  }
}

/** The verifier rejected a program; `verifierLog` holds its complete output. */
export class VerifierError extends EbpfError {
  override name = 'VerifierError';
  readonly verifierLog: string;
  /** The name of the rejected program. */
  programName?: string;

  constructor(message: string, details: EbpfErrorDetails) {
    const log = details.verifierLog ?? '';
    // The cause is nearly always at the end of the log: show it in the stack trace.
    const tail = log.trimEnd().split('\n').slice(-8).join('\n');
    super('VERIFIER', tail ? `${message}\nverifier log (last lines):\n${tail}` : message, details);
    this.verifierLog = log;
    if (details.program !== undefined) this.programName = details.program;
  }
}

/** A named program, map, interface, symbol, file or cgroup does not exist. */
export class NotFoundError extends EbpfError {
  override name = 'NotFoundError';
}

/** The kernel refused for lack of privileges; the message names the capability needed. */
export class PermissionError extends EbpfError {
  override name = 'PermissionError';
}

const NATIVE_PREFIX = 'AYA_NODE_ERROR:';

interface NativePayload extends EbpfErrorDetails {
  code: EbpfErrorCode;
  message: string;
}

/**
 * napi's own errors, for a JavaScript value it could not convert to the Rust type a native
 * method takes (`StringExpected`, `NumberExpected`, ...): a wrong argument type.
 */
const NAPI_CONVERSION = /^(InvalidArg|ObjectExpected|StringExpected|NameExpected|FunctionExpected|NumberExpected|BooleanExpected|ArrayExpected|BigintExpected|DateExpected|ArrayBufferExpected|DetachableArraybufferExpected)$/;

/**
 * The one conversion of errors thrown by the native core (src/native.ts applies it to every
 * native call): the JSON payload the Rust side writes (crates/aya-node/src/error.rs) becomes the
 * matching `EbpfError`; napi's argument conversion failures become `TypeError`s naming `method`.
 */
export function fromNative(err: unknown, method = 'native call'): unknown {
  if (!(err instanceof Error)) return err;
  const status = (err as { code?: unknown }).code;
  if (typeof status === 'string' && NAPI_CONVERSION.test(status)) {
    return new TypeError(`${method}: ${err.message.replace(/^Failed to convert JavaScript value `(.*?)\s*` into rust type `(.*?)`.*$/s, 'expected $2, got $1')}`, { cause: err });
  }
  if (!err.message.startsWith(NATIVE_PREFIX)) return err;
  let payload: NativePayload;
  try {
    payload = JSON.parse(err.message.slice(NATIVE_PREFIX.length)) as NativePayload;
  } catch {
    return err;
  }
  const { code, message, ...details } = payload;
  return ebpfError(code, message, details);
}

/** The error class that goes with `code`: every `NOT_FOUND` is a `NotFoundError`, and so on. */
export function ebpfError(code: EbpfErrorCode, message: string, details: EbpfErrorDetails = {}): EbpfError {
  switch (code) {
    case 'VERIFIER':
      return new VerifierError(message, details);
    case 'NOT_FOUND':
      return new NotFoundError(code, message, details);
    case 'PERMISSION':
      return new PermissionError(code, message, details);
    default:
      return new EbpfError(code, message, details);
  }
}


export function invalidArgument(message: string): EbpfError {
  return new EbpfError('INVALID_ARGUMENT', message);
}

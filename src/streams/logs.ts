// Log records of programs that use aya-log-ebpf, as an async iterable.

import type * as native from '../native';
import { EventStream, type RecordBatch } from './stream';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug' | 'trace';

const levels: readonly LogLevel[] = ['error', 'error', 'warn', 'info', 'debug', 'trace'];

export interface LogRecord {
  level: LogLevel;
  /** The record's target (by default the eBPF crate's module path). */
  target: string;
  module: string;
  /** The formatted message, arguments filled in. */
  message: string;
}

/** Anything with per-level methods: `console`, pino, winston, ... */
export type Logger = Partial<Record<LogLevel, (message: string, ...rest: unknown[]) => void>> & {
  log?: (message: string, ...rest: unknown[]) => void;
};

/** The records an object's programs log with `aya-log-ebpf` (its `AYA_LOGS` map).
 *
 * Needs Linux 5.8 (aya-log writes to a ring buffer).
 *
 * ```ts
 * for await (const record of obj.logs()) console.log(record.level, record.message);
 * ```
 */
export class EbpfLogs extends EventStream<LogRecord> {
  /** @internal */
  constructor(reader: native.LogReader) {
    super(reader, 'eBPF log');
  }

  protected decode(batch: RecordBatch): LogRecord[] {
    const out: LogRecord[] = [];
    batch.forEach((data, start, length, level) => {
      const [target = '', module = '', ...message] = data.toString('utf8', start, start + length).split('\0');
      out.push({ level: levels[level] ?? 'info', target, module, message: message.join('\0') });
    });
    return out;
  }

  /**
   * Forwards every record to `logger` in the background (`logger.info(message)` etc., or
   * `logger.log`), until the object or this stream is closed.
   */
  forward(logger: Logger): this {
    return this.on('event', (record) => {
      // console.trace would print a stack trace; a trace record is just verbose output.
      const method = logger === console && record.level === 'trace' ? logger.debug : logger[record.level];
      const text = `[${record.target}] ${record.message}`;
      if (method) method.call(logger, text);
      else logger.log?.call(logger, `${record.level}: ${text}`);
    });
  }
}

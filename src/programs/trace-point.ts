import type { Link } from '../link';
import { ensureTracefs } from '../streams/trace-pipe';
import { Program } from './program';
import * as validate from '../validate';

/**
 * A program for a kernel tracepoint (`SEC("tracepoint/...")`, `#[tracepoint]` in aya-ebpf).
 * Tracepoints are listed under `/sys/kernel/tracing/events/<category>/<name>`; attaching reads
 * the id there, so it needs read access to tracefs (root-only by default). `RawTracePoint` and
 * `BtfTracePoint` need none.
 *
 * Needs Linux 4.7.
 *
 * ```ts
 * using link = obj.program('on_execve', TracePoint).attach('syscalls', 'sys_enter_execve');
 * ```
 */
export class TracePoint extends Program {
  static override readonly kind = 'tracepoint';

  /** Attaches to `category/name`, e.g. `attach('syscalls', 'sys_enter_execve')`. */
  attach(category: string, name: string): Link {
    validate.name('category', category);
    validate.name('name', name);
    // The tracepoint's id is read from tracefs: say so when it is unreadable (not "not found").
    ensureTracefs();
    return this.attachWith(`tracepoint ${category}/${name}`, (object) =>
      object.attachTracePoint(this.name, category, name),
    );
  }
}

import type { Link } from '../link';
import { Program } from './program';

/**
 * A program for a kernel tracepoint (`SEC("tracepoint/...")`, `#[tracepoint]` in aya-ebpf).
 * Tracepoints are listed under `/sys/kernel/tracing/events/<category>/<name>`.
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
    return this.attachWith(`tracepoint ${category}/${name}`, (object) =>
      object.attachTracePoint(this.name, category, name),
    );
  }
}

import type { Link } from '../link';
import { Program } from './program';

/**
 * A raw tracepoint program (`SEC("raw_tp/...")`, `#[raw_tracepoint]` in aya-ebpf): it gets the
 * tracepoint's arguments as raw u64s, without the copy into a perf record.
 *
 * Needs Linux 4.17.
 *
 * ```ts
 * using link = obj.program('on_sys_enter', RawTracePoint).attach('sys_enter');
 * ```
 */
export class RawTracePoint extends Program {
  static override readonly kind = 'raw_tracepoint';

  /** Attaches to the tracepoint `name`, e.g. `attach('sys_enter')`. */
  attach(name: string): Link {
    return this.attachWith(`raw tracepoint ${name}`, (object) => object.attachRawTracePoint(this.name, name));
  }
}

import type { Link } from '../link';
import { BtfTargetProgram } from './btf-target';

/**
 * A BTF-enabled tracepoint program (`SEC("tp_btf/...")`, `#[btf_tracepoint]` in aya-ebpf): typed
 * arguments, checked by the verifier against the kernel's BTF. Loaded for one tracepoint.
 *
 * Needs Linux 5.5 (BTF-enabled raw tracepoints), with kernel BTF.
 *
 * ```ts
 * using link = obj.program('btf_sys_enter', BtfTracePoint).attach('sys_enter');
 * ```
 */
export class BtfTracePoint extends BtfTargetProgram {
  static override readonly kind = 'btf_tracepoint';

  /** Attaches to the tracepoint `name` (the kernel's `btf_trace_<name>`), e.g. `'sys_enter'`. */
  attach(name: string): Link {
    return this.attachToTarget(name, 'BTF tracepoint', (object) => object.attachBtfTracePoint(this.name, name));
  }
}

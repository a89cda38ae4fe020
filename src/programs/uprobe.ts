import { invalidArgument } from '../errors';
import type { Link } from '../link';
import { Program } from './program';

/** Where a uprobe attaches. */
export interface UProbeTarget {
  /**
   * The executable or library: a path, or a library name such as `'libc'` (resolved through
   * `/etc/ld.so.cache`, or through the process's own mappings when `pid` is given).
   */
  target: string;
  /** The function's symbol. */
  symbol?: string;
  /** Bytes after `symbol`; without a symbol, the offset in the file. */
  offset?: number;
  /** Only this process; every process that runs the code when absent. */
  pid?: number;
}

/**
 * A uprobe or uretprobe program (`#[uprobe]`/`#[uretprobe]` in aya-ebpf): runs at the entry (or
 * return) of a function in a user-space binary or library.
 *
 * ```ts
 * obj.program('on_malloc', UProbe).attach({ target: 'libc', symbol: 'malloc', pid });
 * ```
 *
 * Needs Linux 4.3.
 */
export class UProbe extends Program {
  static override readonly kind = 'uprobe';

  /** Attaches to `symbol` (or a file offset) in `target`. */
  attach(at: UProbeTarget): Link {
    if (!at || typeof at.target !== 'string' || at.target === '') {
      throw invalidArgument(`uprobe \`${this.name}\`: expected { target, symbol?, offset?, pid? }`);
    }
    if (at.symbol === undefined && at.offset === undefined) {
      throw invalidArgument(`uprobe \`${this.name}\`: give a symbol or an offset in ${at.target}`);
    }
    if (at.offset !== undefined && (!Number.isSafeInteger(at.offset) || at.offset < 0)) {
      throw invalidArgument(`uprobe \`${this.name}\`: offset must be a non-negative integer`);
    }
    const where = `${at.target}:${at.symbol ?? ''}${at.offset ? `+${at.offset}` : ''}`;
    const shown = at.pid === undefined ? where : `${where} (pid ${at.pid})`;
    return this.attachWith(`uprobe ${shown}`, (object) =>
      object.attachUprobe(this.name, { target: at.target, symbol: at.symbol, offset: at.offset, pid: at.pid }),
    );
  }
}

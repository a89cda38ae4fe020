import type * as native from '../native';
import { invalidArgument } from '../errors';
import type { Link } from '../link';
import { Program } from './program';

/**
 * A program that the kernel verifies for one specific target (a kernel function, a BTF
 * tracepoint, an LSM hook): fentry, fexit, tp_btf and LSM. Its first attach loads it for that
 * target; it can be attached again to the same target only. Load the object again for another.
 * @internal
 */
export abstract class BtfTargetProgram extends Program {
  #target: string | undefined;

  protected attachToTarget(target: string, what: string, attach: (object: native.EbpfObject) => native.Link): Link {
    if (typeof target !== 'string' || target === '') {
      throw invalidArgument(`${this.kind} program \`${this.name}\`: expected the name of a ${what}`);
    }
    if (this.#target !== undefined && this.#target !== target) {
      throw invalidArgument(
        `${this.kind} program \`${this.name}\` is loaded for ${what} \`${this.#target}\`; ` +
          `it cannot attach to \`${target}\` (load the object again for another target)`,
      );
    }
    try {
      return this.attachWith(`${what} ${target}`, attach);
    } finally {
      if (this.#target === undefined && this.loaded) this.#target = target;
    }
  }
}

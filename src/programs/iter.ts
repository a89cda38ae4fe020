import type * as native from '../native';
import { callNative, EbpfError } from '../errors';
import { Link } from '../link';
import { Program } from './program';

/**
 * The link of an attached iterator. Each `read()` runs the iterator once: the kernel calls the
 * program for every object it iterates (task, map, socket, ...) and `read()` returns what the
 * program wrote with `bpf_seq_write`/`bpf_seq_printf`.
 *
 * Needs Linux 5.8.
 */
export class IterLink extends Link {
  readonly #read: () => Buffer;

  /** @internal */
  constructor(link: native.Link, program: string, target: string, pin: (path: string) => void, read: () => Buffer) {
    super(link, program, target, pin);
    this.#read = read;
  }

  /** Runs the iterator once and returns its whole output. */
  read(): Buffer {
    if (!this.attached) throw new EbpfError('CLOSED', 'the iterator link is detached');
    return this.#read();
  }

  /** Runs the iterator once and returns its output as UTF-8 text (for `bpf_seq_printf` output). */
  text(): string {
    return this.read().toString('utf8');
  }
}

/**
 * An iterator program (section `iter/<target>`, e.g. `iter/task`, `iter/bpf_map`,
 * `iter/tcp`; BPF_PROG_TYPE_TRACING). aya-ebpf has no macro for it: write the function with
 * `#[unsafe(link_section = "iter/task")]` and the kernel's `bpf_iter__<target>` context.
 * Loaded for one target when attached. The kernel must allow tracing programs.
 *
 * ```ts
 * using link = obj.program('dump_task_tgids', Iter).attach('task');
 * const bytes = link.read();
 * ```
 *
 * Needs Linux 5.8.
 */
export class Iter extends Program {
  static override readonly kind = 'iter';

  /**
   * Loads the program for the kernel iterator `target` (the kernel's BTF must have
   * `bpf_iter_<target>`: a missing one is a `NotFoundError`) and attaches it.
   */
  attach(target: string): IterLink {
    return this.attachAs(
      `iter ${target}`,
      (object) => object.attachIter(this.name, target),
      (link, pin) => new IterLink(link, this.name, `iter ${target}`, pin, () => callNative(() => this.nativeObject.readIter(link))),
    );
  }
}

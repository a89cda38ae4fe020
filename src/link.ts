import type * as native from './native';
import { EbpfError } from './errors';
import * as validate from './validate';

/**
 * An attachment of a program to a hook. `detach()` (or disposal) removes it; closing the
 * object that the program came from detaches all of its links.
 *
 * Needs Linux 4.1 (BPF links: 5.7).
 *
 * ```ts
 * using link = obj.program('on_execve', TracePoint).attach('syscalls', 'sys_enter_execve');
 * console.log(link.kind, link.attached);
 * ```
 */
export class Link implements Disposable {
  readonly #native: native.Link;
  /** The program this link attaches. */
  readonly program: string;
  /** What it is attached to, e.g. `tracepoint syscalls/sys_enter_execve`. */
  readonly target: string;
  readonly #pin?: (path: string) => void;
  readonly #detached?: () => void;

  /** @internal `detached` runs after each successful `detach()`. */
  constructor(link: native.Link, program: string, target: string, pin?: (path: string) => void, detached?: () => void) {
    this.#native = link;
    this.program = program;
    this.target = target;
    this.#pin = pin;
    this.#detached = detached;
  }

  /**
   * Pins the link at `path` on bpffs: the program stays attached after `detach()`, `close()`
   * or the end of this process, until the pin is removed (`unpin(path)`). Works when the
   * program has exactly one link.
   */
  pin(path: string): void {
    validate.name('path', path);
    if (!this.#pin) throw new EbpfError('INVALID_ARGUMENT', `this ${this.kind} link cannot be pinned`);
    if (!this.attached) throw new EbpfError('CLOSED', 'the link is detached');
    this.#pin(path);
  }

  /** The kind of hook, e.g. `tracepoint`. */
  get kind(): string {
    return this.#native.kind;
  }

  get attached(): boolean {
    return this.#native.attached;
  }

  /** Detaches; a second call does nothing. */
  detach(): void {
    this.#native.detach();
    this.#detached?.();
  }

  /**
   * @internal Whether the object's `closeAsync` may detach this link on its worker thread: not
   * when something must run here once it is detached (a netlink TC filter's watch).
   */
  get detachesOffThread(): boolean {
    return this.#detached === undefined;
  }

  /** Same as `detach()`. */
  close(): void {
    this.detach();
  }

  [Symbol.dispose](): void {
    this.detach();
  }
}

import type * as native from './native';
import { callNative } from './errors';

/**
 * An attachment of a program to a hook. `detach()` (or disposal) removes it; closing the
 * object that the program came from detaches all of its links.
 */
export class Link implements Disposable {
  readonly #native: native.Link;
  /** The program this link attaches. */
  readonly program: string;
  /** What it is attached to, e.g. `tracepoint syscalls/sys_enter_execve`. */
  readonly target: string;

  /** @internal */
  constructor(link: native.Link, program: string, target: string) {
    this.#native = link;
    this.program = program;
    this.target = target;
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
    callNative(() => this.#native.detach());
  }

  /** Same as `detach()`. */
  close(): void {
    this.detach();
  }

  [Symbol.dispose](): void {
    this.detach();
  }
}

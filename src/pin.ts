import * as native from './native';
import * as validate from './validate';

/** What a pin holds. */
export type PinnedKind = 'program' | 'map' | 'link' | 'btf' | 'unknown';

/**
 * A program, map or link opened from its pin on bpffs. Holding it keeps the object alive;
 * `close()` releases this handle (the pin stays), `unpin()` removes the pin.
 *
 * Needs Linux 4.4 (bpffs).
 *
 * ```ts
 * using pinned = PinnedObject.open('/sys/fs/bpf/my_map');
 * console.log(pinned.kind, pinned.id);
 * ```
 */
export class PinnedObject implements Disposable {
  readonly #native: native.PinnedObject;

  private constructor(object: native.PinnedObject) {
    this.#native = object;
  }

  /** Opens what is pinned at `path` (which must be on bpffs). */
  static open(path: string): PinnedObject {
    return new PinnedObject(native.PinnedObject.open(path));
  }

  get kind(): PinnedKind {
    return this.#native.kind as PinnedKind;
  }

  /** The kernel id of the program, map or link. */
  get id(): number {
    return this.#native.id;
  }

  get path(): string {
    return this.#native.path;
  }

  /** For a link: the id of the program it attaches. */
  get programId(): number | undefined {
    return this.#native.programId ?? undefined;
  }

  get closed(): boolean {
    return this.#native.closed;
  }

  /** Removes the pin (the object lives on while this handle is open). */
  unpin(): void {
    unpin(this.path);
  }

  close(): void {
    this.#native.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Removes the pin at `path`. */
export function unpin(path: string): void {
  native.unpin(validate.name('path', path));
}

/** Throws a clear `EbpfError` unless `path`'s directory is on a bpffs mount. */
export function checkBpffs(path: string): void {
  native.checkBpffs(path);
}

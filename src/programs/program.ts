import type * as native from '../native';
import { callNative } from '../errors';
import { Link } from '../link';

/** What a program class needs from the object it came from. @internal */
export interface ProgramOwner {
  readonly native: native.EbpfObject;
  adopt(link: Link): Link;
}

/** A program in a loaded object. Subclasses add `attach(...)` for their hook. */
export class Program {
  /** Aya's kind for this class of program, e.g. `tracepoint`. */
  static readonly kind: string = '';

  /** @internal */
  constructor(
    protected readonly owner: ProgramOwner,
    /** The program's name (its function name in the object). */
    readonly name: string,
    /** Its kind, from the object's section, e.g. `tracepoint`, `xdp`. */
    readonly kind: string,
  ) {}

  /** Whether it is loaded into the kernel (programs load on their first attach). */
  get loaded(): boolean {
    return this.details().loaded;
  }

  /** The kernel's program id, once loaded. */
  get id(): number | undefined {
    return this.details().id ?? undefined;
  }

  /** The kernel's tag (hash of the translated instructions) as hex, once loaded. */
  get tag(): string | undefined {
    return this.details().tag ?? undefined;
  }

  /** The native object the program belongs to (maps that take programs use it). @internal */
  get nativeObject(): native.EbpfObject {
    return this.owner.native;
  }

  private details(): native.ProgramDetails {
    return callNative(() => this.owner.native.programDetails(this.name));
  }

  /** Runs a native attach call and registers the resulting link with the object. */
  protected attachWith(target: string, attach: (object: native.EbpfObject) => native.Link): Link {
    const link = callNative(() => attach(this.owner.native));
    return this.owner.adopt(new Link(link, this.name, target));
  }
}

export type ProgramClass<P extends Program> = {
  readonly kind: string;
  new (owner: ProgramOwner, name: string, kind: string): P;
};

import type * as native from '../native';
import { callNative, VerifierError } from '../errors';
import { Link } from '../link';
import type { MapClass } from '../maps/map';
import { testRunProgram, type TestRunOptions, type TestRunResult } from '../test-run';
import { loadedProgram, type LoadedProgram } from '../info';

/** What a program class needs from the object it came from. @internal */
export interface ProgramOwner {
  readonly native: native.EbpfObject;
  adopt(link: Link): Link;
  /** Opens one of the object's maps (for program types that keep data for their program, e.g. USDT specs). */
  map<M, A extends unknown[]>(name: string, type: MapClass<M, A>, ...args: A): M;
}

/** A program in a loaded object. Subclasses add `attach(...)` for their hook.
 *
 * Needs Linux 4.1 (what each program type needs is on its class).
 */
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

  /**
   * The ELF section the program came from, e.g. `tracepoint/syscalls/sys_enter_execve` or
   * `cgroup/sysctl`: it names the hook the program was compiled for.
   */
  get section(): string | undefined {
    return this.details().section ?? undefined;
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

  /**
   * Runs a native attach call and registers the resulting link with the object. `pinnable:
   * false` for attachments that are not kernel BPF links (e.g. programs attached to a socket
   * map), whose `pin()` then says so.
   */
  protected attachWith(
    target: string,
    attach: (object: native.EbpfObject) => native.Link,
    { pinnable = true }: { pinnable?: boolean } = {},
  ): Link {
    return this.attachAs(target, attach, (link, pin) => new Link(link, this.name, target, pinnable ? pin : undefined));
  }

  /** Like `attachWith`, for program types whose links do more (e.g. iterators' `read()`). */
  protected attachAs<L extends Link>(
    target: string,
    attach: (object: native.EbpfObject) => native.Link,
    make: (link: native.Link, pin: (path: string) => void) => L,
  ): L {
    const link = this.withName(() => callNative(() => attach(this.owner.native)));
    const pin = (path: string) => callNative(() => this.owner.native.pinProgramLink(this.name, path));
    return this.owner.adopt(make(link, pin)) as L;
  }

  /**
   * Loads the program into the kernel without attaching it, so the verifier's verdict comes
   * now (a `VerifierError` with the complete log) rather than at attach. Loading twice is a
   * no-op. fentry/fexit/lsm/tp_btf/iter/extension programs load when attached.
   */
  load(): void {
    this.withName(() => callNative(() => this.owner.native.loadProgram(this.name)));
  }

  /**
   * Runs the program once (or `repeat` times) on the data and context given, without
   * attaching it (`BPF_PROG_TEST_RUN`; loads it first if needed). The kernel supports this
   * for XDP, TC (`sched_cls`), socket filter, cgroup_skb, flow dissector, raw tracepoint,
   * sk_lookup and syscall programs; others throw `EbpfError('WRONG_TYPE')`.
   *
   * ```ts
   * const { returnValue, data } = obj.program('xdp_verdict').testRun({ data: packet });
   * assert.equal(returnValue, 1); // XDP_DROP
   * ```
   */
  testRun(options: TestRunOptions = {}): TestRunResult {
    return this.withName(() => testRunProgram(this.owner.native, this.name, options));
  }

  /**
   * Pins the program at `path` on bpffs (loading it first if needed); it stays loaded after
   * this process exits, until unpinned (`unpin(path)`).
   */
  pin(path: string): void {
    this.withName(() => callNative(() => this.owner.native.pinProgram(this.name, path)));
  }

  /** The kernel's view of this program (run count and time need `enableStats()`), once loaded. */
  info(): LoadedProgram | undefined {
    const id = this.id;
    return id === undefined ? undefined : loadedProgram(id);
  }

  /** Names this program in a verifier error raised while it loads. */
  private withName<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof VerifierError && err.programName === undefined) err.programName = this.name;
      throw err;
    }
  }
}

export type ProgramClass<P extends Program> = {
  readonly kind: string;
  new (owner: ProgramOwner, name: string, kind: string): P;
};

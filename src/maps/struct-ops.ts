import type * as native from '../native';
import type { Codec } from '../codec';
import { Link } from '../link';
import * as validate from '../validate';

/**
 * A data member's value: bytes, a string (UTF-8, NUL-terminated: for `char name[16]`) or a
 * value with the codec that lays it out. Shorter than the member, the rest is zeros.
 */
export type StructOpsMemberValue = Uint8Array | string | { codec: Codec<any>; value: unknown };

/** A struct_ops variable of an object: its name, section, kernel struct and programs. */
export type StructOpsDescriptor = native.StructOpsDescriptor;

export interface StructOpsRegisterOptions {
  /**
   * Register through a BPF link (the default): the kernel unregisters when the link closes,
   * so nothing is left behind when the process ends, however it ends (Linux 6.4; older
   * kernels refuse it: pass `false` there).
   * `false` registers a `.struct_ops` variable with a map update, as libbpf does: it stays
   * registered until `close()`, dispose or the object's finalizer, and survives a process
   * that exits without them. `.struct_ops.link` variables always use a link.
   */
  link?: boolean;
  /**
   * Data members to set first, by name (those in `members`), as a libbpf skeleton's user sets
   * `skel->struct_ops.ops->name`: e.g. `{ name: 'my_cc' }` registers the algorithm as `my_cc`.
   */
  members?: Record<string, StructOpsMemberValue>;
}

/** What a struct_ops map needs from its object. @internal */
export interface StructOpsOwner {
  readonly native: native.EbpfObject;
  adopt(link: Link): Link;
}

/**
 * A `SEC(".struct_ops")` or `SEC(".struct_ops.link")` variable of a C object: a kernel struct
 * of callbacks (e.g. a `tcp_congestion_ops`) whose members point to the object's
 * `struct_ops/...` programs. `register()` does what libbpf's `bpf_map__attach_struct_ops`
 * does: it creates the kernel's struct_ops map with the variable's value laid out as the
 * kernel's struct (members matched by name; members the kernel lacks must be zero), the
 * programs loaded and in place, and registers it; the kernel then calls the programs (a TCP
 * congestion control becomes selectable by its `name`). The returned `Link` unregisters on
 * `detach()`/dispose, and so does closing the object; `link.pin(path)` keeps it registered
 * until the pin is removed (`unpin(path)`), as `bpftool struct_ops register` + pin does.
 *
 * ```ts
 * using obj = Ebpf.load('tcp_ca.bpf.o');
 * using registration = obj.structOps('my_ca').register({ members: { name: 'my_ca' } });
 * // `my_ca` (the struct's `name`) is now in /proc/sys/net/ipv4/tcp_available_congestion_control
 * ```
 *
 * Needs Linux 5.6 (a BPF link: 6.4).
 */
export class StructOpsMap {
  readonly #owner: StructOpsOwner;
  readonly #descriptor: StructOpsDescriptor;

  /** @internal */
  constructor(owner: StructOpsOwner, descriptor: StructOpsDescriptor) {
    this.#owner = owner;
    this.#descriptor = descriptor;
  }

  /** The variable's name (the map's name). */
  get name(): string {
    return this.#descriptor.name;
  }

  /** The kernel struct it fills in, e.g. `tcp_congestion_ops`. */
  get structName(): string {
    return this.#descriptor.structName;
  }

  /** `.struct_ops` or `.struct_ops.link`. */
  get section(): string {
    return this.#descriptor.section;
  }

  /** The programs its members point to. */
  get programs(): string[] {
    return [...this.#descriptor.programs];
  }

  /** Its data members (e.g. `name`, `flags`), which `register({ members })` may set. */
  get members(): string[] {
    return [...this.#descriptor.members];
  }

  /** Creates the kernel's struct_ops map and registers it; see the class. */
  register(options: StructOpsRegisterOptions = {}): Link {
    options = validate.options('options', options);
    const link = validate.optionalBoolean('options.link', options.link);
    const members = options.members === undefined ? undefined : encodeMembers(validate.options('options.members', options.members));
    const registered = this.#owner.native.registerStructOps(this.name, link, members);
    const pin = (path: string) => this.#owner.native.pinStructOpsLink(registered, path);
    return this.#owner.adopt(new Link(registered, this.name, `${this.structName} ${this.name}`, pin));
  }
}

function encodeMembers(members: Record<string, StructOpsMemberValue>): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [name, value] of Object.entries(members)) {
    // An empty name is refused by the kernel with a bare EINVAL (sched_ext, tcp_congestion_ops).
    if (name === 'name' && value === '') throw new RangeError('options.members.name must not be empty');
    if (typeof value === 'string') out[name] = Buffer.from(`${value}\0`, 'utf8');
    else if (value instanceof Uint8Array) out[name] = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    else if (value !== null && typeof value === 'object' && 'codec' in value) out[name] = value.codec.encode(value.value);
    else throw new TypeError(`options.members.${name}: expected bytes, a string or { codec, value }`);
  }
  return out;
}

// libbpf-style USDT programs: C written against libbpf's `usdt.bpf.h` (`SEC("usdt")`,
// `BPF_USDT(...)`, `bpf_usdt_arg()`), which reads each site's argument spec from the object's
// `__bpf_usdt_specs` array at the index the attach cookie gives, or through
// `__bpf_usdt_ip_to_spec_id` by instruction address where the kernel has no cookies. The sites
// come from the same `.note.stapsdt` reader and argument parser as `Usdt`; only the spec
// layout and the maps are libbpf's.

import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { array, i16, i64, struct, u32, u64, u8, type Infer } from '../codec';
import { EbpfError, ebpfError, invalidArgument } from '../errors';
import type { Link } from '../link';
import { ArrayMap, HashMap } from '../maps';
import { Program } from './program';
import { attachUsdtSites, findUsdtSites, type UsdtArgSpec, type UsdtProbe, type UsdtTarget } from './usdt';

/** libbpf's `BPF_USDT_MAX_ARG_CNT`. */
const MAX_ARGS = 12;
const SPECS_MAP = '__bpf_usdt_specs';
const IP_MAP = '__bpf_usdt_ip_to_spec_id';

/** `struct __bpf_usdt_arg_spec` of usdt.bpf.h (16 bytes). */
const ArgSpec = struct({ valOff: u64, argType: u32, regOff: i16, signed: u8, bitshift: u8 });
/** `struct __bpf_usdt_spec` (208 bytes: 12 arguments, the user's cookie, the argument count). */
const Spec = struct({ args: array(ArgSpec, MAX_ARGS), usdtCookie: u64, argCount: i16 });
type SpecValue = Infer<typeof Spec>;
/** `enum __bpf_usdt_arg_type`. */
const ARG_TYPES = { const: 0, reg: 1, deref: 2 } as const;

/** Encodes one site's arguments in libbpf's layout. @internal */
export function libbpfUsdtSpec(args: readonly UsdtArgSpec[], cookie: bigint): SpecValue {
  return {
    args: Array.from({ length: MAX_ARGS }, (_, i) => {
      const a = args[i];
      if (!a) return { valOff: 0n, argType: 0, regOff: 0, signed: 0, bitshift: 0 };
      // bpf_usdt_arg() shifts the 64-bit value left then right by this much: it keeps the
      // argument's own width, sign-extended when signed.
      return { valOff: BigInt.asUintN(64, a.value), argType: ARG_TYPES[a.kind], regOff: a.regOffset ?? 0, signed: a.signed ? 1 : 0, bitshift: 64 - a.size * 8 };
    }),
    usdtCookie: cookie,
    argCount: args.length,
  };
}

const EMPTY = libbpfUsdtSpec([], 0n);

/** Per object: libbpf's spec ids (indexes of `__bpf_usdt_specs`) in use and freed. */
interface SpecIds {
  next: number;
  free: number[];
}
const specIds = new WeakMap<object, SpecIds>();

/** Where `LibbpfUsdt.attach` attaches: as for `Usdt`, with `cookie` what `bpf_usdt_cookie()` returns. */
export type LibbpfUsdtTarget = Omit<UsdtTarget, 'specMap'>;

/**
 * A `SEC("usdt")` program from a C object written with libbpf's `usdt.bpf.h`. `attach` does
 * what libbpf's `bpf_program__attach_usdt` does: every site of the probe gets a uprobe whose
 * BPF cookie is a spec id, with the site's argument spec (and the caller's `cookie`, read by
 * `bpf_usdt_cookie()`) written at that index of the object's `__bpf_usdt_specs`; sites whose
 * run-time address is known (a non-PIE executable, or a `pid` given) are also entered in
 * `__bpf_usdt_ip_to_spec_id`. Semaphores are counted up while attached. Detaching clears the
 * specs and frees their ids. aya-node's own Rust USDT programs attach with `Usdt`.
 *
 * ```ts
 * obj.program('py_call', LibbpfUsdt).attach({ target: 'python3', provider: 'python', name: 'function__entry', pid });
 * obj.program('on_gc', LibbpfUsdt).attach(); // SEC("usdt/python3:python:gc__start")
 * ```
 *
 * Needs Linux 5.15 (BPF links with cookies on perf events).
 */
export class LibbpfUsdt extends Program {
  static override readonly kind = 'usdt';
  #maps?: { specs: ArrayMap<SpecValue>; ips: HashMap<bigint, number> };

  /**
   * Attaches to every site of `provider:name` in `target`; one link detaches them all. Without
   * an argument, to the probe the program's section names, as libbpf's auto-attach does:
   * `SEC("usdt/PATH:PROVIDER:NAME")`, in every process.
   */
  attach(u?: LibbpfUsdtTarget): Link {
    const what = `usdt \`${this.name}\``;
    if (u === undefined) {
      const section = this.section ?? 'usdt';
      const named = /^usdt\/([^:]+):([^:]+):([^:]+)$/.exec(section);
      if (!named) throw invalidArgument(`${what}: give { target, provider, name }: its section \`${section}\` names no probe (SEC("usdt/PATH:PROVIDER:NAME") would)`);
      u = { target: named[1], provider: named[2], name: named[3] };
    }
    const found = findUsdtSites(what, u);
    // Checked here: the maps opened earlier would otherwise report themselves closed.
    if (this.owner.native.closed) throw new EbpfError('CLOSED', `${what}: the object is closed`);
    const { specs, ips } = this.#openMaps(what);
    const ids = specIds.get(this.owner) ?? { next: 0, free: [] };
    specIds.set(this.owner, ids);

    const taken: number[] = [];
    const entered: Array<[bigint, number]> = [];
    const forget = () => {
      for (const [ip, id] of entered) {
        try {
          if (ips.get(ip) === id) ips.delete(ip);
        } catch {
          // the object (and its maps) may be closed already
        }
      }
      for (const id of taken) {
        try {
          specs.set(id, EMPTY);
        } catch {
          // as above
        }
      }
      ids.free.push(...taken.splice(0));
      entered.length = 0;
    };
    try {
      // Sites with the same argument string share a spec, as under libbpf.
      const byArgs = new Map<string, number>();
      const cookies = found.sites.map(({ site, args }) => {
        let id = byArgs.get(site.argString);
        if (id === undefined) {
          id = ids.free.pop() ?? ids.next;
          if (id >= specs.maxEntries) {
            throw ebpfError('BUSY', `${what}: every USDT spec id is in use (\`${SPECS_MAP}\` has ${specs.maxEntries} entries; raise BPF_USDT_MAX_SPEC_CNT in the C program)`);
          }
          if (id === ids.next) ids.next++;
          taken.push(id);
          specs.set(id, libbpfUsdtSpec(args, u.cookie ?? 0n));
          byArgs.set(site.argString, id);
        }
        const ip = runtimeAddress(site, u.pid);
        // An address another attachment entered keeps its spec: the cookie tells them apart.
        // A full index (programs may size it down to 1, as libbpf allows when the kernel has
        // cookies) only loses the fallback.
        if (ip !== undefined && ips.get(ip) === undefined && enterAddress(ips, ip, id)) entered.push([ip, id]);
        return BigInt(id);
      });
      return attachUsdtSites(this.attachAs.bind(this), this.name, found, u.pid, cookies, forget);
    } catch (err) {
      forget();
      throw err;
    }
  }

  /** The object's two libbpf USDT maps, checked against usdt.bpf.h's layout. */
  #openMaps(what: string): { specs: ArrayMap<SpecValue>; ips: HashMap<bigint, number> } {
    if (this.#maps) return this.#maps;
    const maps = this.owner.native.maps();
    const expect = (name: string, kind: string, keySize: number, valueSize: number) => {
      const m = maps.find((d) => d.name === name);
      if (!m) {
        throw ebpfError('NOT_FOUND', `${what}: the object has no \`${name}\` map: a libbpf USDT program must include <bpf/usdt.bpf.h> (Rust USDT programs attach with Usdt)`);
      }
      if (m.kind !== kind || m.keySize !== keySize || m.valueSize !== valueSize) {
        throw ebpfError(
          'UNSUPPORTED',
          `${what}: \`${name}\` is a ${m.kind} map of ${m.keySize}-byte keys and ${m.valueSize}-byte values, not the ${kind} map of ${keySize}/${valueSize} bytes of libbpf 1.x's usdt.bpf.h`,
        );
      }
    };
    expect(SPECS_MAP, 'array', 4, Spec.size);
    expect(IP_MAP, 'hash', 8, 4);
    this.#maps = { specs: this.owner.map(SPECS_MAP, ArrayMap, Spec), ips: this.owner.map(IP_MAP, HashMap, i64, u32) };
    return this.#maps;
  }
}

/** Enters `ip` in the address index; false when the index is full (E2BIG). */
function enterAddress(ips: HashMap<bigint, number>, ip: bigint, id: number): boolean {
  try {
    ips.set(ip, id, 'only-new');
    return true;
  } catch (err) {
    if (err instanceof EbpfError && err.errno === constants.errno.E2BIG) return false;
    throw err;
  }
}

/**
 * The address a site runs at in a process (what `PT_REGS_IP` reads there): its link address
 * in a non-PIE executable; with a pid, through where that process mapped the file; else
 * unknown.
 */
function runtimeAddress(site: UsdtProbe, pid: number | undefined): bigint | undefined {
  if (!site.positionIndependent) return site.address;
  if (pid === undefined) return undefined;
  let maps: string;
  try {
    maps = readFileSync(`/proc/${pid}/maps`, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of maps.split('\n')) {
    const [range, perms, off, , , ...rest] = line.trim().split(/\s+/);
    if (!range || !perms?.includes('x') || rest.join(' ') !== site.path) continue;
    const [start, end] = range.split('-').map((h) => BigInt(`0x${h}`));
    const offset = BigInt(`0x${off}`);
    if (site.offset >= offset && site.offset < offset + (end - start)) return start + site.offset - offset;
  }
  return undefined;
}

// Why a test cannot run here, found by probing the kernel and the process (never assumed), so
// a suite skips with the reason instead of failing on a machine that lacks a feature.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMapTypeSupported, isProgramTypeSupported } from '../features';

export interface Requirements {
  /** Root, or the capabilities to load programs (CAP_BPF + CAP_PERFMON, CAP_NET_ADMIN). */
  root?: boolean;
  /** Program types the kernel must load, by kernel name: `tracepoint`, `xdp`, `sched_cls`, `lsm`... */
  programTypes?: string[];
  /** Map types the kernel must create: `ringbuf`, `lru_hash`... */
  mapTypes?: string[];
  /** The kernel's own BTF (`/sys/kernel/btf/vmlinux`), for BTF-targeted programs. */
  kernelBtf?: boolean;
  /** tracefs mounted (tracepoint and uprobe attach). */
  tracefs?: boolean;
  /** Commands that must be on PATH, e.g. `ip`. */
  commands?: string[];
}

/** Effective capabilities of this process (from /proc/self/status). */
function effectiveCaps(): bigint {
  const line = readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('CapEff:'));
  return line ? BigInt(`0x${line.split(/\s+/)[1]}`) : 0n;
}
const CAP_NET_ADMIN = 12n;
const CAP_SYS_ADMIN = 21n;
const CAP_PERFMON = 38n;
const CAP_BPF = 39n;

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => dir && existsSync(join(dir, command)));
}

/**
 * Why the test cannot run here (the first unmet requirement, in words), or undefined when
 * everything it needs is there:
 *
 * ```ts
 * const unmet = requirementsUnmet({ root: true, programTypes: ['xdp'] });
 * (unmet ? test.skip : test)(`drops UDP${unmet ? ` (skipped: ${unmet})` : ''}`, async (t) => { ... });
 * ```
 */
export function requirementsUnmet(requirements: Requirements): string | undefined {
  if (typeof requirements !== 'object' || requirements === null) throw new TypeError('requirements: expected an object');
  if (process.platform !== 'linux') return `eBPF needs Linux (this is ${process.platform})`;
  if (requirements.root) {
    const caps = effectiveCaps();
    const has = (cap: bigint) => (caps & (1n << cap)) !== 0n;
    if (!has(CAP_SYS_ADMIN) && !(has(CAP_BPF) && has(CAP_PERFMON))) {
      return `not root and without CAP_BPF + CAP_PERFMON (run the tests with sudo)`;
    }
    if (!has(CAP_SYS_ADMIN) && !has(CAP_NET_ADMIN)) return 'without CAP_NET_ADMIN (needed for network programs and namespaces)';
  }
  for (const command of requirements.commands ?? []) {
    if (!onPath(command)) return `\`${command}\` is not installed`;
  }
  if (requirements.tracefs && !existsSync('/sys/kernel/tracing/events') && !existsSync('/sys/kernel/debug/tracing/events')) {
    return 'tracefs is not mounted (mount -t tracefs tracefs /sys/kernel/tracing)';
  }
  if (requirements.kernelBtf && !existsSync('/sys/kernel/btf/vmlinux')) return 'the kernel has no BTF (/sys/kernel/btf/vmlinux; CONFIG_DEBUG_INFO_BTF)';
  for (const type of requirements.programTypes ?? []) {
    let ok: boolean;
    try {
      ok = isProgramTypeSupported(type);
    } catch (err) {
      return `cannot probe program type ${type}: ${(err as Error).message}`;
    }
    if (!ok) return `the kernel does not load ${type} programs (probed with a minimal program)`;
  }
  for (const type of requirements.mapTypes ?? []) {
    let ok: boolean;
    try {
      ok = isMapTypeSupported(type);
    } catch (err) {
      return `cannot probe map type ${type}: ${(err as Error).message}`;
    }
    if (!ok) return `the kernel does not create ${type} maps (probed)`;
  }
  return undefined;
}

/** Why BPF LSM programs cannot run here (bpf is not an active LSM), or undefined when they can. */
export function bpfLsmUnavailableReason(): string | undefined {
  let active: string;
  try {
    active = readFileSync('/sys/kernel/security/lsm', 'utf8');
  } catch {
    // securityfs is not mounted: look through a private mount of it.
    const dir = mkdtempSync(join(tmpdir(), 'aya-node-securityfs-'));
    try {
      execFileSync('mount', ['-t', 'securityfs', 'securityfs', dir], { stdio: 'pipe' });
      try {
        active = readFileSync(join(dir, 'lsm'), 'utf8');
      } finally {
        execFileSync('umount', [dir]);
      }
    } catch (err) {
      return `cannot read the active LSMs (securityfs): ${(err as Error).message}`;
    } finally {
      rmdirSync(dir);
    }
  }
  return active.trim().split(',').includes('bpf') ? undefined : `bpf is not an active LSM (active: ${active.trim()})`;
}

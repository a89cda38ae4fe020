// `aya-node doctor`: checks what building and running eBPF programs needs on this machine and
// prints, for each problem, what to do about it. Exit code 1 when something required is missing.

import { existsSync, readFileSync } from 'node:fs';
import { kernelFeatures } from '../features';
import { clangCheck, rustChecks, type Check } from './toolchain';

function mounted(path: string, type: string): boolean {
  try {
    return readFileSync('/proc/mounts', 'utf8').split('\n').some((line) => {
      const [, mountPoint, fsType] = line.split(' ');
      return mountPoint === path && fsType === type;
    });
  } catch {
    return false;
  }
}

function capabilities(): Check {
  const line = readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('CapEff:'));
  const caps = line ? BigInt(`0x${line.split(/\s+/)[1]}`) : 0n;
  const has = (n: bigint) => (caps & (1n << n)) !== 0n;
  const sysAdmin = has(21n);
  const ok = sysAdmin || (has(39n) && has(38n));
  return {
    name: 'capabilities',
    ok,
    detail: sysAdmin ? 'root (CAP_SYS_ADMIN)' : ok ? 'CAP_BPF + CAP_PERFMON' : 'neither root nor CAP_BPF + CAP_PERFMON: loading programs will fail',
    fix: ok ? undefined : 'run with sudo, or grant CAP_BPF,CAP_PERFMON(,CAP_NET_ADMIN) to node (setcap)',
  };
}

/** Everything doctor checks, grouped; `required` ones make the exit code 1. */
export function diagnose(): Array<{ group: string; checks: Array<Check & { required: boolean }> }> {
  const rust = rustChecks().checks.map((c) => ({ ...c, required: true }));
  const clang = { ...clangCheck(), required: false };
  const kernel: Array<Check & { required: boolean }> = [
    { name: 'kernel BTF', ok: existsSync('/sys/kernel/btf/vmlinux'), detail: '/sys/kernel/btf/vmlinux', fix: 'a kernel built with CONFIG_DEBUG_INFO_BTF=y', required: false },
    { name: 'bpffs', ok: mounted('/sys/fs/bpf', 'bpf'), detail: '/sys/fs/bpf (pinning)', fix: 'mount -t bpf bpf /sys/fs/bpf', required: false },
    {
      name: 'tracefs',
      ok: mounted('/sys/kernel/tracing', 'tracefs') || existsSync('/sys/kernel/tracing/events'),
      detail: '/sys/kernel/tracing (tracepoints, uprobes)',
      fix: 'mount -t tracefs tracefs /sys/kernel/tracing',
      required: false,
    },
    { ...capabilities(), required: true },
  ];
  const caps = kernel[kernel.length - 1];
  if (caps.ok) {
    try {
      const f = kernelFeatures() as unknown as Record<string, unknown>;
      for (const [name, value] of Object.entries(f)) {
        if (typeof value !== 'boolean') continue;
        const reason = f[`${name}Reason`];
        kernel.push({ name: `feature ${name}`, ok: value, detail: value ? 'available' : String(reason ?? 'not available'), required: false });
      }
    } catch (err) {
      kernel.push({ name: 'kernel features', ok: false, detail: (err as Error).message, required: false });
    }
  }
  return [
    { group: 'Rust eBPF toolchain (aya-node build of a Rust crate)', checks: rust },
    { group: 'C eBPF toolchain (aya-node build of a C file)', checks: [clang] },
    { group: 'kernel and permissions (loading and attaching)', checks: kernel },
  ];
}

export async function run(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write('usage: aya-node doctor\n\nChecks the eBPF toolchain, kernel BTF, bpffs, tracefs, capabilities and kernel features; prints how to fix what is missing.\n');
    return 0;
  }
  let failed = false;
  for (const { group, checks } of diagnose()) {
    process.stdout.write(`${group}\n`);
    for (const c of checks) {
      process.stdout.write(`  ${c.ok ? 'ok  ' : c.required ? 'FAIL' : 'warn'} ${c.name}: ${c.detail}\n`);
      if (!c.ok && c.fix) process.stdout.write(`       fix: ${c.fix}\n`);
      if (!c.ok && c.required) failed = true;
    }
  }
  process.stdout.write(failed ? '\nSomething required is missing: see the fixes above.\n' : '\nEverything needed is there.\n');
  return failed ? 1 : 0;
}

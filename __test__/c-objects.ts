// Builds the C test objects of ebpf/c/ as users build libbpf programs: vmlinux.h from the
// running kernel's BTF, then `clang -target bpf`. One temporary directory per test file.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const clang = ['/usr/bin/clang-22', '/usr/lib/llvm-22/bin/clang'].find(existsSync);

/** Why C objects cannot be built here, or `undefined` when they can. */
export const cSkipReason: string | undefined = !clang
  ? 'clang-22 is not installed (scripts/setup.sh installs it)'
  : !existsSync('/usr/include/bpf/bpf_helpers.h')
    ? 'libbpf-dev (bpf_helpers.h) is not installed (scripts/setup.sh installs it)'
    : !existsSync('/sys/kernel/btf/vmlinux')
      ? 'the kernel has no BTF (/sys/kernel/btf/vmlinux), so CO-RE cannot relocate'
      : undefined;

let work: string | undefined;

/** Removes the build directory (call from `test.after.always`). */
export function cleanupCObjects(): void {
  if (work) rmSync(work, { recursive: true, force: true });
  work = undefined;
}

/** Compiles ebpf/c/<name>.bpf.c (once) and returns the object's path. */
export function buildCObject(name: string): string {
  return compileC(join(__dirname, '..', 'ebpf', 'c', `${name}.bpf.c`), `${name}.bpf.o`);
}

/** Compiles C source text (a test's own small program) into `<name>.bpf.o`. */
export function buildCSource(name: string, source: string): string {
  const dir = compileDir();
  const path = join(dir, `${name}.bpf.c`);
  writeFileSync(path, source);
  return compileC(path, `${name}.bpf.o`);
}

function compileDir(): string {
  if (!work) {
    work = mkdtempSync(join(tmpdir(), 'aya-node-c-'));
    const vmlinux = execFileSync('bpftool', ['btf', 'dump', 'file', '/sys/kernel/btf/vmlinux', 'format', 'c'], {
      maxBuffer: 256 * 1024 * 1024,
    });
    writeFileSync(join(work, 'vmlinux.h'), vmlinux);
  }
  return work;
}

function compileC(source: string, objectName: string): string {
  const dir = compileDir();
  const object = join(dir, objectName);
  if (existsSync(object)) return object;
  const arch = process.arch === 'arm64' ? 'arm64' : 'x86';
  // The multiarch include dir has asm/errno.h, which libbpf's usdt.bpf.h needs (libbpf-tools add it too).
  const multiarch = `/usr/include/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`;
  execFileSync(clang!, ['-O2', '-g', '-target', 'bpf', `-D__TARGET_ARCH_${arch}`, `-I${dir}`, `-I${multiarch}`, '-c', source, '-o', object]);
  return object;
}

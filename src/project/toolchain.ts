// Finding the tools a project build needs, and saying exactly how to get each missing one.
// The eBPF Rust toolchain is Debian's rustc-web 1.96 (linked into rustup as `debian-web`), its
// rust-src (for -Z build-std=core) and bpf-linker 0.13.0; C programs need clang.

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

export interface Check {
  name: string;
  ok: boolean;
  /** What was found, or what is wrong. */
  detail: string;
  /** The command or step that fixes it. */
  fix?: string;
}

/** PATH with ~/.cargo/bin (rustup, bpf-linker), which `sudo` and npm scripts may leave out. */
export function toolPath(): string {
  const cargoBin = join(process.env.CARGO_HOME ?? join(homedir(), '.cargo'), 'bin');
  const path = process.env.PATH ?? '/usr/bin:/bin';
  return path.split(delimiter).includes(cargoBin) ? path : `${cargoBin}${delimiter}${path}`;
}

export function which(command: string): string | undefined {
  for (const dir of toolPath().split(delimiter)) {
    if (dir && existsSync(join(dir, command))) return join(dir, command);
  }
  return undefined;
}

function output(file: string, args: string[]): string | undefined {
  try {
    return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PATH: toolPath() } }).trim();
  } catch {
    return undefined;
  }
}

export interface RustToolchain {
  /** The cargo command and the arguments that come before `build`. */
  cargo: [string, ...string[]];
  rustc: string;
}

const APT = 'apt-get install rustc-web cargo-web rust-web-src llvm-22-dev';

/** The checks for building Rust eBPF crates, and the toolchain when all pass. */
export function rustChecks(): { checks: Check[]; toolchain?: RustToolchain } {
  const checks: Check[] = [];
  const rustup = which('rustup');
  let cargo: RustToolchain['cargo'] | undefined;
  let rustcVersion: string | undefined;
  let sysroot: string | undefined;
  if (rustup && output(rustup, ['toolchain', 'list'])?.split('\n').some((l) => l.startsWith('debian-web'))) {
    rustcVersion = output(rustup, ['run', 'debian-web', 'rustc', '--version']);
    sysroot = output(rustup, ['run', 'debian-web', 'rustc', '--print', 'sysroot']);
    cargo = [rustup, 'run', 'debian-web', 'cargo'];
    checks.push({ name: 'rustc (debian-web)', ok: !!rustcVersion, detail: rustcVersion ?? 'the debian-web toolchain does not run', fix: rustcVersion ? undefined : `${APT}, then: rustup toolchain link debian-web /usr` });
  } else if (existsSync('/usr/bin/rustc') && existsSync('/usr/bin/cargo')) {
    rustcVersion = output('/usr/bin/rustc', ['--version']);
    sysroot = output('/usr/bin/rustc', ['--print', 'sysroot']);
    cargo = ['/usr/bin/cargo'];
    const fix = rustup ? 'rustup toolchain link debian-web /usr' : undefined;
    checks.push({ name: 'rustc', ok: !!rustcVersion, detail: `${rustcVersion ?? '/usr/bin/rustc does not run'}${fix ? ' (no debian-web rustup toolchain: using /usr/bin/cargo directly)' : ''}`, fix });
  } else {
    checks.push({ name: 'rustc', ok: false, detail: 'no Rust compiler for eBPF (Debian rustc-web 1.96)', fix: `${APT}${rustup ? ', then: rustup toolchain link debian-web /usr' : ''}` });
  }
  const minor = Number(/rustc 1\.(\d+)/.exec(rustcVersion ?? '')?.[1] ?? 0);
  if (rustcVersion && minor < 96) {
    checks.push({ name: 'rustc version', ok: false, detail: `${rustcVersion}: the pinned aya-ebpf 0.2.1 lock needs 1.96`, fix: APT });
  }
  const coreSrc = sysroot && join(sysroot, 'lib', 'rustlib', 'src', 'rust', 'library', 'core');
  const hasSrc = !!coreSrc && existsSync(coreSrc);
  if (rustcVersion) checks.push({ name: 'rust-src', ok: hasSrc, detail: hasSrc ? coreSrc! : `no library sources under ${sysroot}/lib/rustlib/src (build-std=core needs them)`, fix: hasSrc ? undefined : 'apt-get install rust-web-src' });
  const linker = which('bpf-linker');
  const linkerVersion = linker && output(linker, ['--version']);
  checks.push({
    name: 'bpf-linker',
    ok: !!linkerVersion,
    detail: linkerVersion || 'not installed',
    fix: linkerVersion ? undefined : 'LLVM_SYS_221_PREFIX=/usr/lib/llvm-22 cargo install --locked bpf-linker@0.13.0 (needs llvm-22-dev)',
  });
  const ok = checks.every((c) => c.ok);
  return { checks, toolchain: ok && cargo && rustcVersion ? { cargo, rustc: rustcVersion } : undefined };
}

/** clang for C eBPF programs: clang-22 or any clang on PATH. */
export function clangCheck(): Check & { path?: string } {
  const path = ['clang-22', 'clang'].map(which).find(Boolean) ?? ['/usr/lib/llvm-22/bin/clang'].find(existsSync);
  const version = path && output(path, ['--version'])?.split('\n')[0];
  return { name: 'clang', ok: !!version, detail: version || 'not installed (only needed for C programs)', fix: version ? undefined : 'apt-get install clang-22 libbpf-dev', path: version ? path : undefined };
}

/** `-I` for the multiarch headers (asm/types.h) that `-target bpf` does not search by itself. */
export function clangIncludeArgs(): string[] {
  const multiarch = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' }[process.arch as string];
  return multiarch && existsSync(`/usr/include/${multiarch}`) ? [`-I/usr/include/${multiarch}`] : [];
}

export function targetArchDefine(): string {
  return `-D__TARGET_ARCH_${{ x64: 'x86', arm64: 'arm64' }[process.arch as string] ?? process.arch}`;
}

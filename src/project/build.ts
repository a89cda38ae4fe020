// `aya-node build`: compiles a project's eBPF program (its Rust crate, or a C file with clang)
// into the object its package.json names, then generates the TypeScript module from it.
// Configuration: the "aya-node" key of the project's package.json:
//   { "crate": "ebpf", "bin": "demo", "object": "ebpf/objects/demo.bpf.o",
//     "gen": { "out": "src/generated.ts", "types": ["Event"], "events": { "EVENTS": "Event" }, "strings": ["Event.comm"] } }
// or, for C: { "c": "src/prog.bpf.c", "object": "...", "gen": { ... } }.

import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { EbpfError } from '../errors';
import type { GenOptions } from './codegen';
import { genFile } from './gen';
import { clangCheck, clangIncludeArgs, rustChecks, targetArchDefine, toolPath, type Check } from './toolchain';

export interface ProjectConfig {
  /** Directory of the eBPF cargo workspace (Rust programs). */
  crate?: string;
  /** The binary of that workspace to build (one binary is one object). */
  bin?: string;
  /** A C source file (instead of `crate`). */
  c?: string;
  /** Where the object goes. */
  object: string;
  /** What `aya-node gen` generates after each build. */
  gen?: GenOptions & { out: string };
}

export function readConfig(dir: string): ProjectConfig {
  const file = join(dir, 'package.json');
  let pkg: { 'aya-node'?: ProjectConfig };
  try {
    pkg = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new EbpfError('NOT_FOUND', `no readable package.json in ${dir} (${(err as Error).message}); run aya-node build in a project made by aya-node new`);
  }
  const config = pkg['aya-node'];
  if (!config || typeof config !== 'object') throw new EbpfError('INVALID_ARGUMENT', `${file} has no "aya-node" section saying what to build (see aya-node new)`);
  if (typeof config.object !== 'string') throw new EbpfError('INVALID_ARGUMENT', `${file}: "aya-node".object must name the object file to write`);
  if (!config.c && (typeof config.crate !== 'string' || typeof config.bin !== 'string')) {
    throw new EbpfError('INVALID_ARGUMENT', `${file}: "aya-node" needs "crate" and "bin" (a Rust eBPF workspace) or "c" (a C file)`);
  }
  return config;
}

/** The error for missing tools: each one with how to get it. */
function missing(what: string, checks: Check[]): EbpfError {
  const lines = checks.filter((c) => !c.ok).map((c) => `  - ${c.name}: ${c.detail}${c.fix ? `\n    fix: ${c.fix}` : ''}`);
  return new EbpfError('NOT_FOUND', `cannot build ${what}: missing tools\n${lines.join('\n')}\n(aya-node doctor checks everything)`);
}

export interface BuildResult {
  object: string;
  generated?: string;
  /** Milliseconds spent compiling and generating. */
  compileMs: number;
  genMs: number;
}

/** Builds the project in `dir` (see the file comment for its configuration). */
export function buildProject(dir: string, log: (line: string) => void = () => {}): BuildResult {
  const root = resolve(dir);
  const config = readConfig(root);
  const at = (p: string) => (isAbsolute(p) ? p : join(root, p));
  const object = at(config.object);
  mkdirSync(dirname(object), { recursive: true });
  const started = Date.now();
  if (config.c) {
    const clang = clangCheck();
    if (!clang.path) throw missing(config.c, [clang]);
    const args = ['-O2', '-g', '-target', 'bpf', targetArchDefine(), ...clangIncludeArgs(), '-c', at(config.c), '-o', object];
    log(`clang ${args.join(' ')}`);
    run(clang.path, args, root, `clang ${config.c}`);
  } else {
    const { checks, toolchain } = rustChecks();
    if (!toolchain) throw missing(`the Rust crate ${config.crate}`, checks);
    const crate = at(config.crate!);
    const targetDir = cargoTargetDir();
    const [cargo, ...pre] = toolchain.cargo;
    const args = [...pre, 'build', '--release', '--bin', config.bin!, '--target-dir', targetDir];
    log(`cargo build --release --bin ${config.bin} (in ${config.crate}, ${toolchain.rustc})`);
    run(cargo, args, crate, `cargo build of ${config.crate}`, { RUSTC_BOOTSTRAP: '1' });
    const built = join(targetDir, 'bpfel-unknown-none', 'release', config.bin!);
    if (!existsSync(built)) throw new EbpfError('NOT_FOUND', `cargo finished but ${built} is not there`);
    copyFileSync(built, object);
  }
  const compileMs = Date.now() - started;
  log(`wrote ${config.object} (${statSync(object).size} bytes)`);
  if (!config.gen) return { object, compileMs, genMs: 0 };
  const genStarted = Date.now();
  const out = at(config.gen.out);
  const generated = genFile(object, { ...config.gen, out });
  log(`wrote ${config.gen.out}: ${generated.structs.map((s) => `${s.name} (${s.size} bytes, ${s.source})`).join(', ') || 'no structs'}`);
  return { object, generated: out, compileMs, genMs: Date.now() - genStarted };
}

/**
 * Where cargo builds: CARGO_TARGET_DIR when set, else one directory shared by all projects of
 * this user (~/.cache/aya-node/ebpf-target). Compiling `core` for the eBPF target takes minutes;
 * shared, only the first project pays it. (Cargo locks the directory, so parallel builds wait.)
 */
export function cargoTargetDir(): string {
  if (process.env.CARGO_TARGET_DIR) return resolve(process.env.CARGO_TARGET_DIR);
  const cache = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cache, 'aya-node', 'ebpf-target');
}

function run(file: string, args: string[], cwd: string, what: string, env: Record<string, string> = {}): void {
  const result = spawnSync(file, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...env, PATH: toolPath() } });
  if (result.error) throw new EbpfError('NOT_FOUND', `${what}: cannot run ${file}: ${result.error.message}`);
  if (result.status !== 0) throw new EbpfError('INVALID_ARGUMENT', `${what} failed (exit ${result.status ?? result.signal}); see the compiler output above`);
}

const usage = `usage: aya-node build [--dir DIR]

Compiles the eBPF program of the project in DIR (default: here) as its package.json's "aya-node"
section says (a Rust crate with cargo, or a C file with clang), then generates its TypeScript
module (codecs, types, typed loader). Cargo builds in ~/.cache/aya-node/ebpf-target, shared by all
projects (the first build compiles \`core\` for the eBPF target: minutes; later ones: seconds), or
in CARGO_TARGET_DIR when set.
`;

async function runBuild(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { dir: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  const result = buildProject(values.dir ?? process.cwd(), (line) => process.stderr.write(`aya-node build: ${line}\n`));
  process.stderr.write(`aya-node build: done in ${((result.compileMs + result.genMs) / 1000).toFixed(1)} s\n`);
  return 0;
}

export { runBuild as run };
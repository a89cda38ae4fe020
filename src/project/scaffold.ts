// `aya-node new <dir>`: writes a complete project from the templates kept in this package
// (templates/common plus one starting point), ready for `npm install && npm test`.

import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { EbpfError } from '../errors';

/** The starting points, with what their generated module is made of. */
export const templates = {
  tracepoint: {
    summary: 'a tracepoint (sched_process_exec) with a ring buffer of events and a hash map of counts',
    gen: { out: 'src/generated.ts', types: ['Event'], events: { EVENTS: 'Event' }, strings: ['Event.comm'] },
    startWhat: 'prints every execution on the machine',
  },
  xdp: {
    summary: 'an XDP program that drops UDP to one port, reports each drop and counts packets per protocol',
    gen: { out: 'src/generated.ts', types: ['Event'], events: { EVENTS: 'Event' } },
    startWhat: 'npm start -- <interface> <udp-port>: drops and prints UDP to that port',
  },
} as const;
export type TemplateName = keyof typeof templates;

export interface NewOptions {
  template?: TemplateName;
  /** The aya-node dependency of the new package.json (default: this version, `^x.y.z`). */
  ayaNode?: string;
}

/** Template files whose names npm would drop or mangle when packing, and their real names. */
const RENAMES: Record<string, string> = { gitignore: '.gitignore', 'dot-cargo': '.cargo' };
/** Names Cargo or Rust reserve that the program binary cannot take. */
const RESERVED_CRATES = new Set(['common', 'programs', 'core', 'std', 'alloc', 'aya_ebpf', 'test', 'self', 'super', 'crate']);

export function templatesDir(): string {
  // dist/project/scaffold.js and src/project/scaffold.ts both sit two levels below the root.
  return resolve(__dirname, '..', '..', 'templates');
}

function ownVersion(): string {
  return (JSON.parse(readFileSync(resolve(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * `^version` when this aya-node was installed from the registry (it sits in node_modules), else
 * `file:` this checkout, so that a project made from a clone of the repository installs it.
 */
function defaultDependency(): string {
  const root = resolve(__dirname, '..', '..');
  return root.split(sep).includes('node_modules') ? `^${ownVersion()}` : `file:${root}`;
}

/** The npm package name and the Rust binary name for a project directory. */
export function projectNames(dir: string): { name: string; crate: string } {
  const base = basename(resolve(dir));
  const name = base.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[._-]+/, '') || 'ebpf-project';
  let crate = name.replace(/[^a-z0-9_]+/g, '_').replace(/^(?=[0-9_])/, 'p');
  if (RESERVED_CRATES.has(crate)) crate = `${crate}_prog`;
  return { name, crate };
}

/** Writes the project into `dir` (which must not exist or be empty); returns the files written. */
export function scaffold(dir: string, options: NewOptions = {}): string[] {
  if (typeof dir !== 'string' || dir === '') throw new TypeError('dir: expected a directory to create');
  const template = options.template ?? 'tracepoint';
  if (!(template in templates)) throw new RangeError(`template: expected one of ${Object.keys(templates).join(', ')}, got "${template}"`);
  const root = resolve(dir);
  if (existsSync(root) && (!statSync(root).isDirectory() || readdirSync(root).length > 0)) {
    throw new EbpfError('INVALID_ARGUMENT', `${dir} already exists and is not an empty directory`);
  }
  const { name, crate } = projectNames(root);
  const meta = templates[template];
  const values: Record<string, string> = {
    name,
    crate,
    template,
    startWhat: meta.startWhat,
    ayaNode: options.ayaNode ?? defaultDependency(),
    gen: JSON.stringify(meta.gen, null, 2).replace(/\n/g, '\n    '),
  };
  const written: string[] = [];
  for (const source of [join(templatesDir(), 'common'), join(templatesDir(), template)]) {
    for (const file of walk(source)) {
      const rel = relative(source, file).split('/').map((part) => RENAMES[part] ?? part).join('/');
      const target = join(root, rel);
      mkdirSync(join(target, '..'), { recursive: true });
      const text = readFileSync(file, 'utf8').replace(/\{\{(\w+)\}\}/g, (whole, key: string) => values[key] ?? whole);
      writeFileSync(target, text);
      if (!written.includes(rel)) written.push(rel);
    }
  }
  return written.sort();
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(path));
    else out.push(path);
  }
  return out;
}

const usage = `usage: aya-node new <dir> [--template NAME] [--aya-node SPEC]

Writes a new project into <dir>: an eBPF crate in Rust (pinned dependencies and a lock file that
builds with Debian's rustc-web 1.96), a no_std crate for the types both sides share, a TypeScript
entry point, ava tests against the kernel, a README and a .gitignore. Then:

  cd <dir> && npm install && sudo npm test

templates:
${Object.entries(templates).map(([n, t]) => `  ${n.padEnd(11)} ${t.summary}`).join('\n')}

options:
  --template NAME   the starting point (default: tracepoint)
  --aya-node SPEC   the aya-node dependency to write, e.g. file:../aya-node-0.1.0.tgz (default:
                    ^{version} when aya-node is installed, file:<checkout> when run from a clone)
`;

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { template: { type: 'string', short: 't' }, 'aya-node': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help || positionals.length !== 1) {
    (values.help ? process.stdout : process.stderr).write(usage.replace('{version}', ownVersion()));
    return values.help ? 0 : 1;
  }
  const files = scaffold(positionals[0], { template: values.template as TemplateName | undefined, ayaNode: values['aya-node'] });
  process.stderr.write(`aya-node new: wrote ${files.length} files into ${positionals[0]}\n\nnext:\n  cd ${positionals[0]}\n  npm install\n  npx aya-node doctor\n  sudo npm test\n`);
  return 0;
}

// The project commands of the CLI: `new`, `build`, `gen`, `doctor` (see `aya-node <command> --help`).

// The commands load their modules when called: the tracing tools start no slower for them.
import { parseArgs } from 'node:util';

export const projectUsage = `project commands:
  new <dir> [--template tracepoint|xdp]   a new project: eBPF crate, shared types, TypeScript, tests
  build [--dir DIR]                        compile the project's eBPF (Rust crate or C file) and generate its types
  gen <object> -o <file.ts> [--type T]... [--event MAP=T]... [--string T.member]...
                                           a TypeScript module (codecs, types, typed loader) from an object
  doctor                                   check the toolchain and the kernel, and say what to fix
`;

const genUsage = `usage: aya-node gen <object> -o <file.ts> [options]

Writes a TypeScript module from a compiled eBPF object: a codec and a type for every struct its
maps carry (and every --type), and load(), which returns its programs as their classes and its
maps with their codecs. Types are read from the object's BTF, or from its DWARF where the BTF
does not describe them (Rust objects): build with debug info (\`debug = 2\`, \`clang -g\`).

options:
  -o, --out FILE         the .ts file to write (required)
  -t, --type NAME        also generate this struct or enum (repeatable); with one ring buffer and
                         one --type, that type is the ring buffer's event
  -e, --event MAP=NAME   the event type of a ring buffer or perf event array (repeatable)
  -s, --string T.member  a byte array member that holds a C string (Rust [u8; N]; repeatable)
      --import MODULE    where the module imports aya-node from (default: aya-node)
`;

async function gen(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      out: { type: 'string', short: 'o' },
      type: { type: 'string', short: 't', multiple: true },
      event: { type: 'string', short: 'e', multiple: true },
      string: { type: 'string', short: 's', multiple: true },
      import: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(genUsage);
    return 0;
  }
  if (positionals.length !== 1 || !values.out) {
    process.stderr.write(genUsage);
    return 1;
  }
  const { genFile, parseEvents } = await import('../project/gen');
  const result = genFile(positionals[0], {
    out: values.out,
    types: values.type,
    events: parseEvents(values.event ?? []),
    strings: values.string,
    importFrom: values.import,
  });
  process.stderr.write(`aya-node gen: wrote ${values.out} (${result.structs.map((s) => `${s.name}: ${s.size} bytes from ${s.source}`).join(', ') || 'no structs'})\n`);
  return 0;
}

async function newProject(args: string[]): Promise<number> {
  const { run } = await import('../project/scaffold');
  return run(args);
}

async function build(args: string[]): Promise<number> {
  const { run } = await import('../project/build');
  return run(args);
}

async function doctor(args: string[]): Promise<number> {
  const { run } = await import('../project/doctor');
  return run(args);
}

export const projectCommands: Record<string, (args: string[]) => Promise<number>> = { new: newProject, build, gen, doctor };

#!/usr/bin/env node
// `aya-node <tool>`: ready-made tracing tools.

import { EbpfError } from './errors';
import { Execsnoop } from './tools/execsnoop';

const usage = `usage: aya-node <tool> [options]

tools:
  execsnoop    print one line per process execution until Ctrl-C

options:
  --json       one JSON object per line
  --help       this text

example:
  sudo npx aya-node execsnoop --json
`;

async function execsnoop(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  process.once('SIGTERM', () => controller.abort());
  using snoop = Execsnoop.open();
  if (!json) console.log(`${'PID'.padEnd(8)}${'PPID'.padEnd(8)}${'UID'.padEnd(6)}${'COMM'.padEnd(17)}FILENAME`);
  try {
    for await (const ev of snoop.stream({ signal: controller.signal })) {
      if (json) console.log(JSON.stringify(ev));
      else console.log(`${String(ev.pid).padEnd(8)}${String(ev.ppid).padEnd(8)}${String(ev.uid).padEnd(6)}${ev.comm.padEnd(17)}${ev.filename}`);
    }
  } catch (err) {
    if (!controller.signal.aborted) throw err;
  }
}

async function main(argv: string[]): Promise<number> {
  const [tool, ...args] = argv;
  if (!tool || tool === '--help' || tool === '-h' || args.includes('--help')) {
    process.stdout.write(usage);
    return tool ? 0 : 1;
  }
  switch (tool) {
    case 'execsnoop':
      await execsnoop(args);
      return 0;
    default:
      process.stderr.write(`unknown tool \`${tool}\`\n\n${usage}`);
      return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof EbpfError) {
      process.stderr.write(`aya-node: ${err.message}\n`);
      if (err.code === 'PERMISSION') process.stderr.write('hint: run as root, or grant CAP_BPF and CAP_PERFMON\n');
    } else {
      process.stderr.write(`aya-node: ${err instanceof Error ? err.stack : String(err)}\n`);
    }
    process.exit(1);
  },
);

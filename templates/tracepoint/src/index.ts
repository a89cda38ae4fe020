// Loads the eBPF program, attaches it to sched/sched_process_exec and prints every execution.
// Run it as root (or with CAP_BPF and CAP_PERFMON): `sudo npm start`.
import { join } from 'node:path';
import { load, type Event } from './generated';

/** The object `npm run build` writes. */
export const objectPath = join(__dirname, '..', 'ebpf', 'objects', '{{crate}}.bpf.o');

/** Loads and attaches the program; `pid` limits it to one process (0: every process). */
export function start(pid = 0) {
  const program = load(objectPath, { globals: { TARGET_PID: pid } });
  program.programs.{{crate}}.attach('sched', 'sched_process_exec');
  return program;
}

export function format(event: Event): string {
  return `${String(event.pid).padEnd(8)}${String(event.uid).padEnd(6)}${event.comm.padEnd(17)}${event.count}`;
}

async function main(): Promise<void> {
  using program = start();
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  console.log(`${'PID'.padEnd(8)}${'UID'.padEnd(6)}${'COMM'.padEnd(17)}EXECS_BY_UID`);
  try {
    for await (const event of program.maps.EVENTS().events({ signal: stop.signal })) console.log(format(event));
  } catch (err) {
    if (!stop.signal.aborted) throw err;
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}

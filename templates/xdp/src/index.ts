// Loads the XDP program onto a network interface and prints every UDP packet it drops.
// `sudo npm start -- <interface> <udp-port>`, e.g. `sudo npm start -- lo 9999`.
import { join } from 'node:path';
import { load, type Event } from './generated';

/** The object `npm run build` writes. */
export const objectPath = join(__dirname, '..', 'ebpf', 'objects', '{{crate}}.bpf.o');

/** Loads the program with the UDP port it drops (not attached: see main, or use testRun). */
export function open(blockedPort: number) {
  return load(objectPath, { globals: { BLOCKED_PORT: blockedPort } });
}

export function format(event: Event): string {
  return `${event.saddr.join('.')}:${event.sport} -> ${event.daddr.join('.')}:${event.dport} (${event.len} bytes) dropped`;
}

async function main(): Promise<void> {
  const [ifname, port] = process.argv.slice(2);
  if (!ifname || !port) throw new Error('usage: npm start -- <interface> <udp-port>');
  using program = open(Number(port));
  program.programs.{{crate}}.attach(ifname);
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  console.error(`Dropping UDP to port ${port} on ${ifname}... Ctrl-C to end.`);
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

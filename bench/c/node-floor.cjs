// The floor of bench/service-rate.bench.ts: a bare Node.js process woken once per event by
// an fd, doing nothing else (no eBPF, no aya-node): the openat workload writes one byte to
// this process's stdin per call (openat_load's third argument), and a 'data' listener counts
// them. What aya-node costs above this is its own; this much a Node process pays per wake-up
// through Node's own I/O on this machine. Prints "ready" on stderr, and the bytes seen on
// stdout at SIGTERM.
'use strict';
let seen = 0;
process.stdin.on('data', (chunk) => (seen += chunk.length));
process.on('SIGTERM', () => {
  process.stdout.write(`${seen}\n`);
  process.exit(0);
});
process.stderr.write('ready\n');

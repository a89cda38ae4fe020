// A lighter floor for bench/service-rate.bench.ts: like node-floor.cjs, a bare Node.js process
// woken once per event by a byte on its stdin, but read through Node's internal pipe handle
// (one JavaScript call per read, no stream, no Buffer per chunk). It shows how much of the
// stream floor is Node's stream machinery rather than the wake-up itself. Prints "ready" on
// stderr, and the reads seen on stdout at SIGTERM.
'use strict';
const { Pipe, constants } = process.binding('pipe_wrap');
let seen = 0;
const pipe = new Pipe(constants.SOCKET);
pipe.open(0);
pipe.onread = () => seen++;
pipe.readStart();
process.on('SIGTERM', () => {
  process.stdout.write(`${seen}\n`);
  process.exit(0);
});
process.stderr.write('ready\n');

// A lighter floor for bench/service-rate.bench.ts: like node-floor.cjs, a bare Node.js process
// woken once per event by a byte on its stdin, but read through Node's internal pipe handle
// (one JavaScript call per read, no stream, no Buffer per chunk). It shows how much of the
// stream floor is Node's stream machinery rather than the wake-up itself. Prints "ready" on
// stderr, and the bytes seen on stdout at SIGTERM (as node-floor.cjs: one read can find several).
'use strict';
const { Pipe, constants } = process.binding('pipe_wrap');
// A read's byte count (or error) is left here, not passed to onread.
const { streamBaseState, kReadBytesOrError } = process.binding('stream_wrap');
let seen = 0;
const pipe = new Pipe(constants.SOCKET);
pipe.open(0);
pipe.onread = () => {
  const bytes = streamBaseState[kReadBytesOrError];
  if (bytes > 0) seen += bytes;
};
pipe.readStart();
process.on('SIGTERM', () => {
  process.stdout.write(`${seen}\n`);
  process.exit(0);
});
process.stderr.write('ready\n');

// The aya-node consumer of bench/service-rate.bench.ts, written as a user would: the public
// package (built dist/), the Opensnoop tool filtered on a comm. argv: COMM MODE, where MODE is
// "for-await" (the default loop: `for await` over the tool's events), "ring" (`for await`
// over the tool's ring buffer itself, `tool.events`: the same decoded events without the
// tool's own layer) or "batches" (decoded batches with a wake-up threshold). Prints "ready" on stderr once attached, and the number of
// events it saw on stdout when it gets SIGTERM.
'use strict';
const { Opensnoop } = require('../..');

const [comm, mode] = process.argv.slice(2);
const tool = Opensnoop.open({ comm });
let seen = 0;
let checksum = 0;
process.on('SIGTERM', () => {
  tool.close();
  process.stdout.write(`${seen} ${checksum}\n`);
  process.exit(0);
});
process.stderr.write('ready\n');
(async () => {
  if (mode === 'batches') {
    for await (const batch of tool.events.batches({ minBatch: 64, lingerMs: 20 })) {
      for (const e of batch) {
        seen++;
        checksum += e.pid + e.retval + e.comm.length + e.path.length;
      }
    }
  } else if (mode === 'ring') {
    for await (const e of tool.events) {
      seen++;
      checksum += e.pid + e.retval + e.comm.length + e.path.length;
    }
  } else {
    for await (const e of tool) {
      seen++;
      checksum += e.pid + e.retval + e.comm.length + e.path.length;
    }
  }
})();

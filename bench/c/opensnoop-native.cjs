// Two limits for bench/service-rate.bench.ts: the bundled opensnoop program read straight from
// aya-node's native ring reader (internal API, not what a user writes), with the least
// JavaScript per wake-up. argv: COMM MODE, where MODE is
// - "callback": the armed callback drains the ring (tryRead), decodes each event and arms the
//   wait again; no promise, no `for await`;
// - "await": the same drain feeding the leanest `for await` possible: the callback resolves the
//   one pending next() promise, later events of a batch come as resolved promises.
// What the default loop costs above these is aya-node's stream machinery (stream.ts); what these
// cost above the bare Node floors is a native read and decoding per wake-up.
// Prints "ready" on stderr once attached, and the events seen and a checksum on stdout at SIGTERM.
'use strict';
const { openTool } = require('../../dist/tools/tool.js');
const { syscallGlobals } = require('../../dist/tools/syscalls.js');
const { u32, cstring, decoderFor } = require('../../dist/codec.js');
const { OpenEvent } = require('../../dist/tools/opensnoop.js');

const [comm, mode] = process.argv.slice(2);
const object = openTool('opensnoop', [
  { program: 'opensnoop_enter', tracepoint: 'sys_enter' },
  { program: 'opensnoop_exit', tracepoint: 'sys_exit' },
], { globals: { ...syscallGlobals(['open', 'openat']), FILTER_PID: { codec: u32, value: 0 }, FILTER_COMM: { codec: cstring(16), value: comm } } });
const reader = object.nativeObject.takeRingBuf('EVENTS');
const buffer = Buffer.alloc(1 << 20);
const words = new Uint32Array(buffer.buffer, buffer.byteOffset, buffer.length >>> 2);
const result = new Float64Array(4);
const decode = decoderFor(OpenEvent, buffer);
let seen = 0;
let checksum = 0;
const consume = (e) => {
  seen++;
  checksum += e.pid + e.retval + e.comm.length + e.path.length;
};

/** Reads what the ring has, handing each decoded event to `each`. */
function drain(each) {
  for (;;) {
    const count = reader.tryRead(buffer, 4096, result);
    if (count === 0) return;
    for (let i = 0, offset = 0; i < count; i++) {
      const length = words[offset >>> 2];
      each(decode(offset + 8));
      offset += 8 + ((length + 7) & ~7);
    }
  }
}

if (mode === 'callback') {
  const wake = () => {
    drain(consume);
    reader.arm(wake);
  };
  wake();
} else {
  let queue = [];
  let at = 0;
  let resolvePending;
  const push = (e) => queue.push(e);
  const wake = () => {
    drain(push);
    if (at < queue.length) {
      const resolve = resolvePending;
      resolvePending = undefined;
      resolve({ done: false, value: queue[at++] });
    } else reader.arm(wake);
  };
  const iterator = {
    next() {
      if (at < queue.length) return Promise.resolve({ done: false, value: queue[at++] });
      queue = [];
      at = 0;
      return new Promise((resolve) => {
        resolvePending = resolve;
        reader.arm(wake);
      });
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  (async () => {
    for await (const e of iterator) consume(e);
  })();
}
process.on('SIGTERM', () => {
  object.close();
  process.stdout.write(`${seen} ${checksum}\n`);
  process.exit(0);
});
process.stderr.write('ready\n');

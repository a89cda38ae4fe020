// The benchmarks drive native `bench…` hooks that the shipped module does not have (they are
// built only with the cargo feature `bench`). `npm run bench` builds that variant to
// bench/native/aya-node.node (scripts/build-bench.sh); importing this module first makes the
// generated loader (index.js) load it instead of the shipped one, through napi-rs's own
// NAPI_RS_NATIVE_LIBRARY_PATH override. Its types are in bench/native/index.d.ts.

import { existsSync } from 'node:fs';
import { join } from 'node:path';

const path = join(__dirname, 'native', 'aya-node.node');
if (!existsSync(path)) {
  throw new Error(`${path} is missing: run \`npm run bench\` (or \`bash scripts/build-bench.sh\`) to build it`);
}
process.env.NAPI_RS_NATIVE_LIBRARY_PATH = path;

/** The bench variant's classes, with their `bench…` methods (cast the shipped handles to them). */
export type { EbpfObject, MapHandle, RingBufReader } from './native/index';

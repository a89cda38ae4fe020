// The generated N-API loader (index.js at the package root) and its types (index.d.ts).
// Everything the TypeScript layer needs from Rust goes through this module.
// eslint-disable-next-line @typescript-eslint/no-require-imports
import native = require('../index.js');

export = native;

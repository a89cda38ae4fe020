// Runs every benchmark file in bench/ (each is standalone: `node --import=tsx bench/<file>.ts`).

import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const files = readdirSync(__dirname).filter((f) => f.endsWith('.bench.ts')).sort();
let failed = false;
for (const file of files) {
  console.log(`\n## ${file}`);
  const run = spawnSync(process.execPath, ['--import=tsx', join(__dirname, file)], { stdio: 'inherit' });
  if (run.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ebpfError } from '../errors';
import * as validate from '../validate';

/** Path of a prebuilt eBPF object shipped with the package (`ebpf/objects/NAME.bpf.o`). */
export function bundledObjectPath(name: string): string {
  validate.name('name', name);
  // Both src/tools (run through tsx) and dist/tools are two levels below the package root.
  const path = resolve(__dirname, '..', '..', 'ebpf', 'objects', `${name}.bpf.o`);
  if (!existsSync(path)) {
    throw ebpfError('NOT_FOUND', `bundled eBPF object ${path} is missing (run \`npm run build:ebpf\`)`);
  }
  return path;
}

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ebpfError } from '../errors';

/**
 * Path of a prebuilt eBPF object: a tool's, shipped with the package (`ebpf/objects/tools/NAME.bpf.o`),
 * or, in a source checkout, a test fixture or example (`ebpf/objects/NAME.bpf.o`).
 */
export function bundledObjectPath(name: string): string {
  // Both src/tools (run through tsx) and dist/tools are two levels below the package root.
  const objects = resolve(__dirname, '..', '..', 'ebpf', 'objects');
  const tool = resolve(objects, 'tools', `${name}.bpf.o`);
  const path = existsSync(tool) ? tool : resolve(objects, `${name}.bpf.o`);
  if (!existsSync(path)) {
    throw ebpfError('NOT_FOUND', `bundled eBPF object ${path} is missing (run \`npm run build:ebpf\`)`);
  }
  return path;
}

// `aya-node gen <object> -o <file.ts>`: writes the TypeScript module for an object.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { generate, type GenOptions, type Generated } from './codegen';
import { readObject } from './inspect';

export interface GenFileOptions extends GenOptions {
  /** Where to write the module. */
  out: string;
}

/** Generates the module for `objectPath` into `options.out` (only rewritten when it changed). */
export function genFile(objectPath: string, options: GenFileOptions): Generated {
  if (typeof objectPath !== 'string' || objectPath === '') throw new TypeError('objectPath: expected a path to an eBPF object');
  if (typeof options?.out !== 'string' || options.out === '') throw new TypeError('options.out: expected the path of the .ts file to write');
  const generated = generate(readObject(objectPath), options);
  let old: string | undefined;
  try {
    old = readFileSync(options.out, 'utf8');
  } catch {
    // not there yet
  }
  if (old !== generated.source) {
    mkdirSync(dirname(options.out), { recursive: true });
    writeFileSync(options.out, generated.source);
  }
  return generated;
}

/** Parses `--event MAP=Type` pairs. */
export function parseEvents(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const m = /^([^=]+)=(.+)$/.exec(pair);
    if (!m) throw new TypeError(`--event takes MAP=Type, got "${pair}"`);
    out[m[1]] = m[2];
  }
  return out;
}

// The arrangement of the code, checked so that it stays: the native crate's files use each other
// without a circle, and the shipped API carries no benchmark hooks (those exist only in the
// module `npm run bench` builds with the cargo feature `bench`).

import test from 'ava';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import * as native from '../src/native';

const crateSrc = resolve(__dirname, '..', 'crates', 'aya-node', 'src');

function rustFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return rustFiles(path);
    return name.endsWith('.rs') ? [path] : [];
  });
}

/** Expands a `use` tree (`a::{b, c::{d}}`) into its paths (`a::b`, `a::c::d`). */
function expandUse(tree: string): string[] {
  tree = tree.replace(/\s+/g, '');
  const open = tree.indexOf('{');
  if (open < 0) return [tree];
  const prefix = tree.slice(0, open);
  const inner = tree.slice(open + 1, tree.lastIndexOf('}'));
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < inner.length; i++) {
    if (inner[i] === '{') depth++;
    else if (inner[i] === '}') depth--;
    else if (inner[i] === ',' && depth === 0) {
      parts.push(inner.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(inner.slice(start));
  return parts.filter((p) => p !== '').flatMap((p) => expandUse(prefix + p));
}

/** The file a module path (segments after `crate`/`super`) lives in, starting from `dir`. */
function fileOf(dir: string, segments: string[]): string | undefined {
  let file: string | undefined;
  for (const segment of segments) {
    if (segment === 'self') continue;
    if (existsSync(join(dir, segment, 'mod.rs'))) {
      dir = join(dir, segment);
      file = join(dir, 'mod.rs');
    } else if (existsSync(join(dir, `${segment}.rs`))) {
      return join(dir, `${segment}.rs`);
    } else {
      break;
    }
  }
  return file;
}

/** Directory of the module `super` names, seen from `file`. */
function superDir(file: string): string {
  const dir = dirname(file);
  return file.endsWith('mod.rs') ? dirname(dir) : dir;
}

/** For each file of the crate, the other files of the crate it uses. */
function crateGraph(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const file of rustFiles(crateSrc)) {
    const text = readFileSync(file, 'utf8').replace(/\/\/.*$/gm, '');
    const paths: string[] = [];
    const uses = /\buse\s+([^;]+);/g;
    for (const m of text.matchAll(uses)) paths.push(...expandUse(m[1]));
    for (const m of text.replace(uses, '').matchAll(/\$?\b(crate|super)((?:::\w+)+)/g)) paths.push(m[1] + m[2]);
    const targets = new Set<string>();
    for (const path of paths) {
      const [head, ...rest] = path.replace(/^\$/, '').split('::');
      const target = head === 'crate' ? fileOf(crateSrc, rest) : head === 'super' ? fileOf(superDir(file), rest) ?? join(superDir(file), 'mod.rs') : undefined;
      if (target && target !== file && existsSync(target)) targets.add(target);
    }
    graph.set(file, targets);
  }
  return graph;
}

test('the native crate has no import circle', (t) => {
  const graph = crateGraph();
  t.true(graph.size > 30, 'the crate was read');
  const done = new Set<string>();
  const cycles: string[] = [];
  const visit = (file: string, stack: string[]) => {
    const at = stack.indexOf(file);
    if (at >= 0) {
      cycles.push([...stack.slice(at), file].map((f) => relative(crateSrc, f)).join(' -> '));
      return;
    }
    if (done.has(file)) return;
    for (const next of graph.get(file) ?? []) visit(next, [...stack, file]);
    done.add(file);
  };
  for (const file of graph.keys()) visit(file, []);
  t.deepEqual(cycles, []);
});

test('the circle check sees a real use', (t) => {
  // Guards the test above against a parser that finds nothing: object.rs uses the link registry.
  const graph = crateGraph();
  t.true(graph.get(join(crateSrc, 'object.rs'))?.has(join(crateSrc, 'link', 'erased.rs')));
  t.true(graph.get(join(crateSrc, 'link', 'mod.rs'))?.has(join(crateSrc, 'object.rs')));
});

test('the shipped native API has no benchmark hooks', (t) => {
  const dts = readFileSync(resolve(__dirname, '..', 'index.d.ts'), 'utf8');
  t.notRegex(dts, /\bbench/i);
  const names = Object.values(native as Record<string, unknown>).flatMap((value) =>
    typeof value === 'function' ? Object.getOwnPropertyNames(value.prototype ?? {}) : [],
  );
  t.true(names.includes('takeRingBuf'), 'the native classes were read');
  t.deepEqual(names.filter((name) => /^bench/i.test(name)), []);
});

// Checks of the flame graph files, with independent parsers: Python's XML parser (expat,
// strict about well-formedness) for the SVG, and the `jsonschema` package against speedscope's
// own published schema (node_modules/speedscope) for the speedscope JSON.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';

/** Debian's Python (pyenv's shims may come first on PATH). */
export const PYTHON = '/usr/bin/python3';

export interface SvgFrame {
  x: number;
  w: number;
  d: number;
  n: string;
  rectWidth: number;
}

/** Parses the SVG as XML and returns its frames and the total it says it draws. */
export function parseSvg(path: string): { total: number; width: number; frames: SvgFrame[]; notes: string[] } {
  const script = `
import json, sys, xml.etree.ElementTree as ET
ns = '{http://www.w3.org/2000/svg}'
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == ns + 'svg', root.tag
frames = []
for g in root.iter(ns + 'g'):
    if g.get('class') != 'f':
        continue
    rect = g.find(ns + 'rect')
    frames.append({'x': float(g.get('data-x')), 'w': float(g.get('data-w')), 'd': int(g.get('data-d')), 'n': g.get('data-n'), 'rectWidth': float(rect.get('width'))})
notes = [t.text or '' for t in root.iter(ns + 'text') if t.get('class') == 'note']
print(json.dumps({'total': float(root.get('data-total')), 'width': float(root.get('data-width')), 'frames': frames, 'notes': notes}))
`;
  return JSON.parse(execFileSync(PYTHON, ['-c', script, path], { encoding: 'utf8' }));
}

/** Asserts the flame graph's geometry: children fit in their parent, depth 1 adds up to the total, widths scale. */
export function checkWidths(t: ExecutionContext, svg: ReturnType<typeof parseSvg>): void {
  const root = svg.frames.find((f) => f.d === 0);
  t.truthy(root, 'there is a root frame');
  t.is(root!.w, svg.total, 'the root is as wide as the total');
  const top = svg.frames.filter((f) => f.d === 1);
  t.is(top.reduce((s, f) => s + f.w, 0), svg.total, 'the frames above the root add up to it');
  const scale = (svg.width - 20) / svg.total;
  let fits = true;
  for (const f of svg.frames) {
    if (f.d === 0) continue;
    const children = svg.frames.filter((c) => c.d === f.d + 1 && c.x >= f.x && c.x + c.w <= f.x + f.w);
    if (children.reduce((s, c) => s + c.w, 0) > f.w) fits = false;
    const parent = svg.frames.find((p) => p.d === f.d - 1 && f.x >= p.x && f.x + f.w <= p.x + p.w);
    if (!parent) fits = false;
    if (Math.abs(f.rectWidth - Math.max(f.w * scale - 1, 0)) > 0.02) fits = false;
  }
  t.true(fits, 'every frame lies on its parent, children add up to no more than it, and pixel widths are proportional');
}

/** Validates a speedscope file against speedscope's published JSON schema; returns the parsed file. */
export function validateSpeedscope(t: ExecutionContext, path: string): any {
  const schema = join(__dirname, '..', 'node_modules', 'speedscope', 'dist', 'release', 'file-format-schema.json');
  const script = `
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
doc = json.load(open(sys.argv[2]))
jsonschema.validate(doc, schema)
print('valid')
`;
  t.is(execFileSync(PYTHON, ['-c', script, schema, path], { encoding: 'utf8' }).trim(), 'valid');
  return JSON.parse(readFileSync(path, 'utf8'));
}

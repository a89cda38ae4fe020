// Flame graphs written by us: folded stacks, a self-contained interactive SVG (click to zoom,
// search, hover for details; no external files or scripts) and speedscope's JSON file format.

import { frameLabel, type Frame } from './symbolize';

/** A stack with its weight: samples (on-CPU) or nanoseconds (off-CPU). */
export interface WeightedStack {
  /** Outermost first; the first frame is usually the process (`comm`). */
  frames: Frame[];
  weight: number;
  /** Which process it came from (speedscope makes one profile per process). */
  pid?: number;
  comm?: string;
}

export interface FlameGraphOptions {
  title?: string;
  /** What a weight counts: `samples` (default) or `nanoseconds`. */
  unit?: 'samples' | 'nanoseconds';
  /** Lines shown under the title, e.g. that a process has no perf map. */
  notes?: string[];
  /** Image width in pixels (default 1200). */
  width?: number;
}

/** Folded stacks: `frame;frame;frame weight` per line, the input of flamegraph.pl and friends. */
export function foldedStacks(stacks: WeightedStack[]): string {
  checkStacks('foldedStacks', stacks);
  const merged = new Map<string, number>();
  for (const s of stacks) {
    const key = s.frames.map((f) => frameLabel(f).replaceAll(';', ':')).join(';');
    merged.set(key, (merged.get(key) ?? 0) + s.weight);
  }
  return [...merged].map(([k, w]) => `${k} ${Math.round(w)}\n`).join('');
}

function checkStacks(fn: string, stacks: WeightedStack[]): void {
  if (!Array.isArray(stacks) || !stacks.every((s) => s && Array.isArray(s.frames) && typeof s.weight === 'number' && Number.isFinite(s.weight))) {
    throw new TypeError(`${fn}: \`stacks\` must be an array of { frames: Frame[], weight: number }`);
  }
}

interface Node {
  label: string;
  kind: Frame['kind'] | 'root';
  weight: number;
  children: Map<string, Node>;
}

function buildTree(stacks: WeightedStack[]): Node {
  const root: Node = { label: 'all', kind: 'root', weight: 0, children: new Map() };
  for (const s of stacks) {
    if (!(s.weight > 0)) continue;
    root.weight += s.weight;
    let node = root;
    for (const f of s.frames) {
      const label = frameLabel(f);
      let child = node.children.get(label);
      if (!child) {
        child = { label, kind: f.kind, weight: 0, children: new Map() };
        node.children.set(label, child);
      }
      child.weight += s.weight;
      node = child;
    }
  }
  return root;
}

const escapeXml = (s: string) =>
  // Also drops characters XML 1.0 does not allow at all.
  // eslint-disable-next-line no-control-regex
  s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '?').replace(/[&<>"']/g, (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' }[c]};`);

/** A stable warm colour per name, hue by kind: JavaScript green, native red-orange, kernel orange, JIT teal. */
function colour(node: Node): string {
  let h = 0;
  for (let i = 0; i < node.label.length; i++) h = (h * 31 + node.label.charCodeAt(i)) >>> 0;
  const v = (h % 1000) / 1000;
  switch (node.kind) {
    case 'js':
      return `rgb(${Math.round(60 + 60 * v)},${Math.round(180 + 40 * v)},${Math.round(60 + 30 * v)})`;
    case 'jit':
      return `rgb(${Math.round(60 + 40 * v)},${Math.round(170 + 40 * v)},${Math.round(170 + 40 * v)})`;
    case 'kernel':
      return `rgb(${Math.round(220 + 30 * v)},${Math.round(140 + 50 * v)},${Math.round(40 + 30 * v)})`;
    case 'unknown':
      return `rgb(${Math.round(170 + 30 * v)},${Math.round(170 + 30 * v)},${Math.round(170 + 30 * v)})`;
    case 'root':
      return 'rgb(200,200,200)';
    default:
      return `rgb(${Math.round(220 + 35 * v)},${Math.round(80 + 80 * v)},${Math.round(50 + 30 * v)})`;
  }
}

const FRAME_HEIGHT = 16;
const MIN_WIDTH_PX = 0.1;
/** Frames drawn at most; beyond that the narrowest are left out (the SVG stays openable). */
const MAX_FRAMES = 50_000;

/** The interactive part of the SVG: zoom on click, reset, search, details on hover. */
const SCRIPT = `
var W, frames, details, matched;
function init(evt) {
  W = +document.documentElement.getAttribute('data-width');
  frames = Array.prototype.slice.call(document.querySelectorAll('g.f'));
  details = document.getElementById('details');
  frames.forEach(function (g) {
    g.addEventListener('click', function () { zoom(g); });
    g.addEventListener('mouseover', function () { details.textContent = g.querySelector('title').textContent; });
    g.addEventListener('mouseout', function () { details.textContent = ' '; });
  });
  document.getElementById('reset').addEventListener('click', function () { zoom(frames[0]); });
  document.getElementById('search').addEventListener('click', search);
}
function fit(g, x, w) {
  var r = g.querySelector('rect'), t = g.querySelector('text'), name = g.getAttribute('data-n');
  r.setAttribute('x', x); r.setAttribute('width', Math.max(w - 1, 0));
  t.setAttribute('x', x + 3);
  var chars = Math.floor((w - 6) / 7);
  t.textContent = chars < 3 ? '' : (name.length <= chars ? name : name.slice(0, chars - 2) + '..');
}
function zoom(target) {
  var x0 = +target.getAttribute('data-x'), w0 = +target.getAttribute('data-w'), d0 = +target.getAttribute('data-d');
  var pad = 10, scale = (W - 2 * pad) / w0;
  frames.forEach(function (g) {
    var x = +g.getAttribute('data-x'), w = +g.getAttribute('data-w'), d = +g.getAttribute('data-d');
    var inside = x >= x0 && x + w <= x0 + w0 + 1e-9;
    if (d >= d0 && inside) { g.style.display = ''; fit(g, pad + (x - x0) * scale, w * scale); g.style.opacity = ''; }
    else if (d < d0 && x <= x0 && x + w >= x0 + w0 - 1e-9) { g.style.display = ''; fit(g, pad, W - 2 * pad); g.style.opacity = '0.5'; }
    else g.style.display = 'none';
  });
}
function search() {
  var term = prompt('Search (regular expression)', matched || '');
  if (term === null) return;
  matched = term;
  var re; try { re = new RegExp(term); } catch (e) { return; }
  frames.forEach(function (g) {
    var r = g.querySelector('rect');
    if (!r.getAttribute('data-fill')) r.setAttribute('data-fill', r.getAttribute('fill'));
    r.setAttribute('fill', term && re.test(g.getAttribute('data-n')) ? 'rgb(230,0,230)' : r.getAttribute('data-fill'));
  });
}
`;

/**
 * A self-contained interactive SVG flame graph. Each frame is a `<g class="f">` whose
 * `data-x`/`data-w` are its start and width in weight units and `data-d` its depth, so the
 * drawing can be checked (and zoomed) exactly.
 */
export function flameGraphSvg(stacks: WeightedStack[], options: FlameGraphOptions = {}): string {
  checkStacks('flameGraphSvg', stacks);
  const width = options.width ?? 1200;
  if (!Number.isFinite(width) || width < 200 || width > 100_000) throw new RangeError('flameGraphSvg: `width` must be between 200 and 100000');
  const unit = options.unit ?? 'samples';
  const root = buildTree(stacks);
  const pad = 10;
  const scale = root.weight > 0 ? (width - 2 * pad) / root.weight : 0;
  const notes = options.notes ?? [];
  const top = 34 + notes.length * 16;

  // Lay out breadth-first so that, past MAX_FRAMES, it is the deepest narrow frames that go.
  const placed: Array<{ node: Node; x: number; depth: number }> = [];
  let queue: Array<{ node: Node; x: number; depth: number }> = [{ node: root, x: 0, depth: 0 }];
  let maxDepth = 0;
  while (queue.length > 0 && placed.length < MAX_FRAMES) {
    const next: typeof queue = [];
    for (const item of queue) {
      if (placed.length >= MAX_FRAMES) break;
      placed.push(item);
      maxDepth = Math.max(maxDepth, item.depth);
      let x = item.x;
      const children = [...item.node.children.values()].sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
      for (const child of children) {
        if (child.weight * scale >= MIN_WIDTH_PX) next.push({ node: child, x, depth: item.depth + 1 });
        x += child.weight;
      }
    }
    queue = next;
  }
  const height = top + (maxDepth + 1) * FRAME_HEIGHT + 40;
  const fmt = (w: number) => (unit === 'nanoseconds' ? `${(w / 1e6).toFixed(2)} ms` : `${w} sample${w === 1 ? '' : 's'}`);
  const out: string[] = [];
  out.push('<?xml version="1.0" standalone="no"?>');
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" data-width="${width}" data-total="${root.weight}" data-unit="${unit}" onload="init(evt)">`,
  );
  out.push('<style>text { font-family: Verdana, sans-serif; font-size: 12px; fill: #000; } g.f:hover rect { stroke: #000; stroke-width: 0.5; } g.f { cursor: pointer; } #reset, #search { cursor: pointer; fill: #333; }</style>');
  out.push(`<script type="text/ecmascript"><![CDATA[${SCRIPT}]]></script>`);
  out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#f6f6f0"/>`);
  out.push(`<text id="title" x="${width / 2}" y="22" text-anchor="middle" style="font-size:16px">${escapeXml(options.title ?? 'Flame graph')}</text>`);
  notes.forEach((n, i) => out.push(`<text class="note" x="${pad}" y="${40 + i * 16}" style="fill:#a00">${escapeXml(n)}</text>`));
  out.push(`<text id="reset" x="${pad}" y="22">Reset zoom</text>`);
  out.push(`<text id="search" x="${width - pad}" y="22" text-anchor="end">Search</text>`);
  out.push(`<text id="details" x="${pad}" y="${height - 12}"> </text>`);
  out.push('<g id="frames">');
  for (const { node, x, depth } of placed) {
    const px = pad + x * scale;
    const pw = node.weight * scale;
    const y = height - 30 - (depth + 1) * FRAME_HEIGHT;
    const pct = root.weight > 0 ? ((node.weight / root.weight) * 100).toFixed(2) : '0';
    const chars = Math.floor((pw - 6) / 7);
    const shown = chars < 3 ? '' : node.label.length <= chars ? node.label : `${node.label.slice(0, chars - 2)}..`;
    out.push(
      `<g class="f" data-x="${x}" data-w="${node.weight}" data-d="${depth}" data-n="${escapeXml(node.label)}">` +
        `<title>${escapeXml(`${node.label} (${fmt(node.weight)}, ${pct}%)`)}</title>` +
        `<rect x="${px.toFixed(2)}" y="${y}" width="${Math.max(pw - 1, 0).toFixed(2)}" height="${FRAME_HEIGHT - 1}" fill="${colour(node)}" rx="2" ry="2"/>` +
        `<text x="${(px + 3).toFixed(2)}" y="${y + 11.5}">${escapeXml(shown)}</text></g>`,
    );
  }
  out.push('</g>');
  out.push('</svg>\n');
  return out.join('\n');
}

/** speedscope's file format (https://www.speedscope.app/file-format-schema.json): one sampled profile per process. */
export function speedscopeJson(stacks: WeightedStack[], options: { name?: string; unit?: 'samples' | 'nanoseconds' } = {}): string {
  checkStacks('speedscopeJson', stacks);
  const frames: Array<{ name: string; file?: string; line?: number; col?: number }> = [];
  const frameIndex = new Map<string, number>();
  const indexOf = (f: Frame) => {
    const key = `${f.kind}\u0000${frameLabel(f)}`;
    let i = frameIndex.get(key);
    if (i === undefined) {
      i = frames.length;
      const entry: (typeof frames)[number] = { name: f.name };
      if (f.file !== undefined) entry.file = f.file;
      if (f.line !== undefined) entry.line = f.line;
      if (f.column !== undefined) entry.col = f.column;
      frames.push(entry);
      frameIndex.set(key, i);
    }
    return i;
  };
  const byProcess = new Map<string, { samples: number[][]; weights: number[] }>();
  for (const s of stacks) {
    if (!(s.weight > 0)) continue;
    const key = s.pid === undefined ? (s.comm ?? 'all') : `${s.comm ?? 'pid'} (${s.pid})`;
    let p = byProcess.get(key);
    if (!p) byProcess.set(key, (p = { samples: [], weights: [] }));
    p.samples.push(s.frames.filter((f) => f.kind !== 'process').map(indexOf));
    p.weights.push(s.weight);
  }
  const unit = options.unit === 'nanoseconds' ? 'nanoseconds' : 'none';
  const profiles = [...byProcess].map(([name, p]) => ({
    type: 'sampled',
    name,
    unit,
    startValue: 0,
    endValue: p.weights.reduce((a, b) => a + b, 0),
    samples: p.samples,
    weights: p.weights,
  }));
  return JSON.stringify({
    $schema: 'https://www.speedscope.app/file-format-schema.json',
    shared: { frames },
    profiles,
    name: options.name ?? 'aya-node profile',
    activeProfileIndex: 0,
    exporter: 'aya-node',
  });
}

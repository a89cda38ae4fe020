// JIT symbols from the perf map a runtime writes for profilers: V8 (node --perf-basic-prof or
// --perf-basic-prof-only-functions; not --perf-prof, which writes a jitdump file instead)
// appends `START SIZE NAME` lines (hex, no 0x) to /tmp/perf-<pid>.map as it compiles code. The file only grows; when V8 moves or
// recompiles code, a later line covers the same addresses and replaces the earlier one.

import { closeSync, fstatSync, openSync, readSync, readlinkSync, readFileSync, statSync } from 'node:fs';

/** A symbol from a perf map, split into what a flame graph shows. */
export interface PerfMapSymbol {
  start: bigint;
  end: bigint;
  /** Function name (`(anonymous)` for V8's empty names), without V8's tier marker. */
  name: string;
  /** Source file, when the line carries one (V8 JS functions). */
  file?: string;
  line?: number;
  column?: number;
  /** V8's kind prefix, e.g. `JS`, `Builtin`, `BytecodeHandler`, `RegExp`; `''` for other runtimes. */
  kind: string;
}

/** Bytes read from one perf map at most (V8 writes ~100 bytes per compiled function). */
const MAX_BYTES = 256 * 1024 * 1024;
/** Bytes read per refresh call. */
const CHUNK = 4 * 1024 * 1024;

/**
 * Parses one perf-map line. V8 writes `JS:*name file:line:col` (the marker is the tier:
 * `~` interpreted, `^` baseline, `+` Maglev, `*` TurboFan), older V8 `LazyCompile:*name file:line`.
 */
export function parsePerfMapLine(text: string): PerfMapSymbol | undefined {
  if (typeof text !== 'string') throw new TypeError('parsePerfMapLine: `text` must be a string');
  const m = /^([0-9a-fA-F]+) ([0-9a-fA-F]+) (.*)$/.exec(text.trim());
  if (!m) return undefined;
  const start = BigInt(`0x${m[1]}`);
  const size = BigInt(`0x${m[2]}`);
  if (size === 0n) return undefined;
  let rest = m[3];
  let kind = '';
  const prefix = /^([A-Za-z]+):/.exec(rest);
  if (prefix && !rest.startsWith('/')) {
    kind = prefix[1];
    rest = rest.slice(prefix[0].length);
  }
  const v8Code = kind === 'JS' || kind === 'LazyCompile' || kind === 'Function' || kind === 'Script' || kind === 'Eval';
  if (v8Code) rest = rest.replace(/^[~^+*]/, '');
  const symbol: PerfMapSymbol = { start, end: start + size, name: rest, kind: kind === 'LazyCompile' || kind === 'Function' ? 'JS' : kind };
  // `name location`, location = file:line[:col] (the file may contain spaces or be a URL).
  const loc = /^(.*) (\S+?):(\d+)(?::(\d+))?$/.exec(rest);
  if (v8Code && loc) {
    symbol.name = loc[1] === '' ? '(anonymous)' : loc[1];
    symbol.file = loc[2];
    symbol.line = Number(loc[3]);
    if (loc[4] !== undefined) symbol.column = Number(loc[4]);
  } else if (v8Code && rest === '') {
    symbol.name = '(anonymous)';
  }
  return symbol;
}

/**
 * A perf map, read as it grows. `lookup()` finds the newest symbol covering an address;
 * `refresh()` reads whatever was appended since the last read.
 */
export class PerfMap {
  readonly path: string;
  #offset = 0;
  #partial = '';
  #seq = 0;
  /** Every symbol read, in file order (later ones win). */
  #symbols: Array<PerfMapSymbol & { seq: number }> = [];
  /** Sorted, non-overlapping view; rebuilt after a refresh that added lines. */
  #index: PerfMapSymbol[] | undefined;

  constructor(path: string) {
    if (typeof path !== 'string' || path === '') throw new TypeError('PerfMap: `path` must be a non-empty string');
    this.path = path;
  }

  /**
   * The map of process `pid`, or undefined when it has none. A process in a container writes
   * its map under its own pid in its own /tmp: that is looked for first, through /proc/<pid>/root.
   */
  static forPid(pid: number): PerfMap | undefined {
    if (!Number.isSafeInteger(pid) || pid <= 0) throw new RangeError('PerfMap.forPid: `pid` must be a positive integer');
    const nsPid = innermostPid(pid);
    const paths = nsPid !== undefined && nsPid !== pid ? [`/proc/${pid}/root/tmp/perf-${nsPid}.map`] : [];
    paths.push(`/tmp/perf-${pid}.map`);
    const started = processStartMs(pid);
    for (const path of paths) {
      // A map last written before the process started belongs to an earlier process that had its pid.
      if (started !== undefined && modifiedMs(path) < started - 1000) continue;
      const map = new PerfMap(path);
      if (map.refresh()) return map;
    }
    return undefined;
  }

  /** Reads lines appended since the last call; false when the file cannot be opened. */
  refresh(): boolean {
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch {
      return false;
    }
    try {
      const size = Math.min(fstatSync(fd).size, MAX_BYTES);
      const buffer = Buffer.allocUnsafe(CHUNK);
      let added = false;
      while (this.#offset < size) {
        const n = readSync(fd, buffer, 0, Math.min(CHUNK, size - this.#offset), this.#offset);
        if (n <= 0) break;
        this.#offset += n;
        const text = this.#partial + buffer.toString('latin1', 0, n);
        const lines = text.split('\n');
        this.#partial = lines.pop() ?? '';
        for (const line of lines) {
          const symbol = parsePerfMapLine(Buffer.from(line, 'latin1').toString('utf8'));
          if (symbol) {
            this.#symbols.push({ ...symbol, seq: this.#seq++ });
            added = true;
          }
        }
      }
      if (added) this.#index = undefined;
      return true;
    } finally {
      closeSync(fd);
    }
  }

  /** How many symbols are known (lines read, less those replaced, once looked up). */
  get size(): number {
    return this.#symbols.length;
  }

  /** The symbol covering `address`, newest line first. */
  lookup(address: bigint): PerfMapSymbol | undefined {
    if (this.#index === undefined) {
      // Replaced lines are dropped for good: memory follows the live code, not the file.
      this.#symbols = buildIndex(this.#symbols);
      this.#index = this.#symbols;
    }
    const index = this.#index;
    let lo = 0;
    let hi = index.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = index[mid];
      if (address < s.start) hi = mid - 1;
      else if (address >= s.end) lo = mid + 1;
      else return s;
    }
    return undefined;
  }
}

/** Sorted by start; where ranges overlap, the later line (higher seq) wins and the other goes. */
function buildIndex(symbols: Array<PerfMapSymbol & { seq: number }>): Array<PerfMapSymbol & { seq: number }> {
  const sorted = [...symbols].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.seq - b.seq));
  const out: Array<PerfMapSymbol & { seq: number }> = [];
  for (const s of sorted) {
    let keep = true;
    while (out.length > 0 && out[out.length - 1].end > s.start) {
      if (out[out.length - 1].seq > s.seq) {
        keep = false;
        break;
      }
      out.pop();
    }
    if (keep) out.push(s);
  }
  return out;
}

/** When `pid` started, in ms since the epoch (from its start time in jiffies and the boot time). */
function processStartMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces and parentheses); starttime is field 22.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const jiffies = Number(fields[22 - 3]);
    const boot = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
    // USER_HZ is 100 on every Linux architecture Node runs on.
    return Number.isFinite(jiffies) && Number.isFinite(boot) ? boot * 1000 + jiffies * 10 : undefined;
  } catch {
    return undefined;
  }
}

function modifiedMs(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return Number.POSITIVE_INFINITY; // missing: let the open fail on its own
  }
}

/** The pid of `pid` in its innermost pid namespace (`NSpid` of /proc/<pid>/status). */
function innermostPid(pid: number): number | undefined {
  try {
    const line = /^NSpid:\s*(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    const last = line?.[1].trim().split(/\s+/).pop();
    return last === undefined ? undefined : Number(last);
  } catch {
    return undefined;
  }
}

/** Whether `pid` runs Node.js (its executable or a mapped libnode). */
export function isNodeProcess(pid: number): boolean {
  try {
    const exe = readlinkSync(`/proc/${pid}/exe`);
    if (/(^|\/)(node|nodejs)(\d+)?( \(deleted\))?$/.test(exe)) return true;
  } catch {
    // gone, or not ours to read
  }
  try {
    const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    if (comm === 'node' || comm === 'nodejs') return true;
    return /\/libnode\.so/.test(readFileSync(`/proc/${pid}/maps`, 'utf8'));
  } catch {
    return false;
  }
}

/** The line printed for a Node process that has no perf map. */
export function missingPerfMapNotice(pid: number): string {
  return (
    `pid ${pid} is a Node.js process without /tmp/perf-${pid}.map: its JavaScript frames show as addresses. ` +
    'Start it with `node --perf-basic-prof --interpreted-frames-native-stack` (or in NODE_OPTIONS; ' +
    '`--perf-basic-prof-only-functions` writes a smaller map) to see function names and source lines.'
  );
}

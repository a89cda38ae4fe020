// The TC watcher: a process of its own, started by tc-watch.ts with the pid of the process it
// watches as its argument and a pipe from that process as stdin. Each line is a JSON message:
// `add` (a netlink TC filter: where it is and the program it runs) or `del` (detached). At EOF,
// or when its parent is gone, it removes every filter still registered whose kernel entry still
// runs our program (never another tool's replacement), then exits. It exits too when it cannot
// do its job (no parent pid, a garbled pipe); its stderr is its parent's, for the reasons.
//
// Network namespaces: it inherits its parent's; a filter attached in another one (`netns`
// option) names the namespace's path, which it opens at once and holds, checking the inode.

import { closeSync, fstatSync, openSync } from 'node:fs';
import * as native from '../native';

interface Filter {
  /** `/proc/self/fd/N` of the namespace it holds open, or null for its own. */
  netns: string | null;
  fd?: number;
  ifindex: number;
  parent: number;
  priority: number;
  handle: number;
  programId: number;
}

/** A pipe line longer than this is not ours. */
const MAX_LINE = 64 * 1024;
/** More filters at once than any process attaches: the rest are refused, with a report. */
const MAX_FILTERS = 65_536;

const parentPid = Number(process.argv[2]);
const filters = new Map<number, Filter>();

function report(message: string): void {
  try {
    process.stderr.write(`aya-node tc watcher (for pid ${parentPid}): ${message}\n`);
  } catch {
    // Nobody to tell.
  }
}

const isU32 = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;

function add(m: Record<string, unknown>): void {
  const { key, netns, netnsInode, ifindex, parent, priority, handle, programId } = m;
  if (![key, ifindex, parent, priority, handle, programId].every(isU32)) return report(`ignored a malformed message`);
  if (filters.size >= MAX_FILTERS) return report(`more than ${MAX_FILTERS} filters; this one will not be removed`);
  const filter: Filter = {
    netns: null,
    ifindex: ifindex as number,
    parent: parent as number,
    priority: priority as number,
    handle: handle as number,
    programId: programId as number,
  };
  if (typeof netns === 'string') {
    try {
      const fd = openSync(netns, 'r');
      if (typeof netnsInode === 'number' && fstatSync(fd).ino !== netnsInode) {
        closeSync(fd);
        return report(`${netns} is no longer the namespace the filter was attached in; it will not be removed`);
      }
      filter.fd = fd;
      filter.netns = `/proc/self/fd/${fd}`;
    } catch (err) {
      return report(`cannot open ${netns} (${(err as Error).message}); its filter will not be removed`);
    }
  }
  filters.set(key as number, filter);
}

function del(key: unknown): void {
  const filter = isU32(key) ? filters.get(key) : undefined;
  if (!filter) return;
  filters.delete(key as number);
  if (filter.fd !== undefined) closeSync(filter.fd);
}

let finished = false;

/** Removes what is still registered and exits. */
function finish(): void {
  if (finished) return;
  finished = true;
  for (const f of filters.values()) {
    try {
      native.tcFilterRemove(f.netns, f.ifindex, f.parent, f.priority, f.handle, f.programId);
    } catch (err) {
      report(`could not remove the filter ${f.priority}:${f.handle} of interface ${f.ifindex}: ${(err as Error).message}`);
    }
  }
  process.exit(0);
}

if (!Number.isInteger(parentPid) || parentPid <= 1) {
  report('started without the pid of a parent to watch');
  process.exit(1);
}

// Signals meant for the process group or service we came from: we outlive our parent by design.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => {});

let buffered = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  buffered += chunk;
  let newline: number;
  while ((newline = buffered.indexOf('\n')) >= 0) {
    const line = buffered.slice(0, newline);
    buffered = buffered.slice(newline + 1);
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(line) as Record<string, unknown>;
    } catch {
      report('ignored a line that is not JSON');
      continue;
    }
    if (message?.op === 'add') add(message);
    else if (message?.op === 'del') del(message.key);
  }
  if (buffered.length > MAX_LINE) {
    report('the pipe carries something else than our messages; cleaning up now');
    finish();
  }
});
process.stdin.on('end', finish);
process.stdin.on('error', finish);

// The pipe may stay open if its write end leaked into another process: watch the parent too.
// Reparented means our parent is gone; give the pipe's last lines a moment to be read.
setInterval(() => {
  if (process.ppid !== parentPid) setTimeout(finish, 200);
}, 1000);

// Netlink TC filters outlive the process that attached them (unlike TCX links, BPF links that
// die with their fd). Two things remove them when the process ends without `close()`:
//  - an 'exit' hook that detaches them in-process (normal end, process.exit, uncaught exception);
//  - the TC watcher (tc-watcher.ts), a small process of its own started on the first netlink
//    attachment, told each filter and each detach over a pipe: when the pipe reaches EOF (this
//    process is gone, even by SIGTERM or SIGKILL) it removes the filters still registered that
//    still run our program, then exits. A signal has no 'exit' event, hence the watcher.
// The watcher runs in its own session (Ctrl-C to our process group does not reach it), is
// unref'd (it never keeps this event loop alive), and is let go LINGER_MS after the last
// filter is detached, so a loop of attach/detach does not start a process per attachment.

import { spawn, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import type { Socket } from 'node:net';
import type * as native from '../native';

/** How long an idle watcher is kept for the next attachment. */
const LINGER_MS = 5_000;

interface Watcher {
  child: ChildProcess;
  /** The network namespace it runs in (the one this process had when starting it). */
  netnsInode: number | undefined;
  linger?: NodeJS.Timeout;
}

/** Something that can be detached at exit: a `Link`. */
interface Detachable {
  detach(): void;
}

let watcher: Watcher | undefined;
let nextKey = 1;
/** The filters attached and not detached yet, by key; weak, so that the watch keeps no object alive. */
const live = new Map<number, WeakRef<Detachable>>();
/** An object collected without close() detached its filters natively: unregister them. */
const collected = new FinalizationRegistry<number>((key) => forget(key));
let exitHookInstalled = false;

/**
 * Watches the netlink filter `filter` that `link` made (in the network namespace at
 * `netnsPath`, or this thread's); returns what to call once it is detached.
 */
export function watchTcFilter(link: Detachable, filter: native.TcFilter, netnsPath: string | undefined): () => void {
  const key = nextKey++;
  live.set(key, new WeakRef(link));
  collected.register(link, key, link);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', detachAllAtExit);
  }
  const w = watcher ?? start();
  if (w) {
    clearTimeout(w.linger);
    w.linger = undefined;
    if (!netnsPath && w.netnsInode !== undefined && w.netnsInode !== currentNetnsInode()) {
      warn('this thread is in another network namespace than the TC watcher; the filter is removed at exit but not if the process is killed');
    } else {
      send(w, {
        op: 'add',
        key,
        netns: netnsPath ?? null,
        netnsInode: filter.netnsInode ?? null,
        ifindex: filter.ifindex,
        parent: filter.parent,
        priority: filter.priority,
        handle: filter.handle,
        programId: filter.programId,
      });
    }
  }
  return () => {
    collected.unregister(link);
    forget(key);
  };
}

/** The watcher's process id, while one runs (for tests and diagnostics). @internal */
export function tcWatcherPid(): number | undefined {
  return watcher?.child.pid;
}

function forget(key: number): void {
  if (!live.delete(key)) return;
  const w = watcher;
  if (!w) return;
  send(w, { op: 'del', key });
  if (live.size === 0 && !w.linger) {
    w.linger = setTimeout(() => release(w), LINGER_MS);
    w.linger.unref();
  }
}

/** Ends the watcher's pipe: it exits at EOF, removing nothing (every filter was detached). */
function release(w: Watcher): void {
  if (watcher === w) watcher = undefined;
  w.child.stdin?.end();
}

function detachAllAtExit(): void {
  for (const ref of [...live.values()]) {
    try {
      ref.deref()?.detach();
    } catch {
      // Exiting anyway; the watcher removes what is left.
    }
  }
}

function start(): Watcher | undefined {
  const ts = extname(__filename) === '.ts';
  const script = join(__dirname, `tc-watcher${extname(__filename)}`);
  // Not our execArgv or NODE_OPTIONS: a profiler, inspector or preload has no business there.
  // (Under Electron, execPath is Electron's binary: ELECTRON_RUN_AS_NODE makes it plain Node.)
  const env: NodeJS.ProcessEnv = { ...process.env, ELECTRON_RUN_AS_NODE: '1' };
  delete env.NODE_OPTIONS;
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [...(ts ? ['--import=tsx'] : []), script, String(process.pid)], {
      detached: true,
      stdio: ['pipe', 'ignore', 'inherit'],
      env,
      // From source (tests), tsx resolves from the package root; installed, hold no directory busy.
      cwd: ts ? resolve(__dirname, '..', '..') : '/',
    });
  } catch (err) {
    warn(`could not start the TC watcher (${(err as Error).message}); netlink TC filters stay attached if this process is killed`);
    return undefined;
  }
  const w: Watcher = { child, netnsInode: currentNetnsInode() };
  watcher = w;
  child.unref();
  (child.stdin as Socket).unref();
  child.stdin!.on('error', () => {
    // The watcher is gone; 'exit' below says so.
  });
  child.on('error', (err) => {
    if (watcher === w) watcher = undefined;
    warn(`the TC watcher failed (${err.message}); netlink TC filters stay attached if this process is killed`);
  });
  child.on('exit', (code, signal) => {
    if (watcher !== w) return;
    watcher = undefined;
    if (live.size > 0) warn(`the TC watcher exited (${signal ?? code}); netlink TC filters stay attached if this process is killed`);
  });
  return w;
}

function send(w: Watcher, message: object): void {
  if (w.child.stdin?.writable) w.child.stdin.write(`${JSON.stringify(message)}\n`);
}

function currentNetnsInode(): number | undefined {
  try {
    return statSync('/proc/thread-self/ns/net').ino;
  } catch {
    return undefined;
  }
}

function warn(message: string): void {
  process.emitWarning(message, { code: 'AYA_NODE_TC_WATCHER' });
}

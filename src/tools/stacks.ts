// Turns the stack ids a program stored (user and kernel, per process) into frames, shared by
// the on-CPU profile and off-CPU time. One symbolizer per process, kept across reports, so
// its perf map is read incrementally.

import { EbpfError } from '../errors';
import { resolveKernelAddresses, type StackTraceMap } from '../maps';
import { isNodeProcess, missingPerfMapNotice } from './perf-map';
import { UserSymbolizer, type Frame } from './symbolize';

/** The frame V8's interpreter runs every interpreted function in (without --interpreted-frames-native-stack). */
const INTERPRETER_FRAME = 'Builtin:InterpreterEntryTrampoline';

/** Processes whose symbols are kept between reports at most. */
const MAX_PROCESSES = 1024;

export class StackResolver {
  readonly #stacks: StackTraceMap;
  readonly #symbolizers = new Map<number, UserSymbolizer>();
  /** Processes with interpreted JavaScript on their stacks (V8's shared trampoline frame). */
  readonly #interpreted = new Set<number>();
  /** Set when /proc/kallsyms hides addresses (no CAP_SYSLOG): kernel frames stay addresses. */
  #kernelSymbolsHidden = false;

  constructor(stacks: StackTraceMap) {
    this.#stacks = stacks;
  }

  /** Call before resolving a new batch: re-reads perf maps and mappings of the processes seen. */
  refresh(): void {
    for (const s of this.#symbolizers.values()) s.refresh();
  }

  #symbolizer(pid: number): UserSymbolizer {
    let s = this.#symbolizers.get(pid);
    if (!s) {
      // A machine-wide profile meets many short-lived processes: start over past a bound.
      if (this.#symbolizers.size >= MAX_PROCESSES) {
        this.#symbolizers.clear();
        this.#interpreted.clear();
      }
      this.#symbolizers.set(pid, (s = new UserSymbolizer(pid)));
    }
    return s;
  }

  /** The frames of one stored sample, outermost first: the process, its user frames, then kernel frames. */
  frames(pid: number, comm: string, userStackId: number, kernelStackId: number): Frame[] {
    const frames: Frame[] = [{ name: comm, kind: 'process' }];
    if (userStackId >= 0) {
      const addresses = this.#stacks.get(userStackId) ?? [];
      const user = this.#symbolizer(pid).resolve(addresses).reverse();
      if (user.some((f) => f.name === INTERPRETER_FRAME)) this.#interpreted.add(pid);
      frames.push(...user);
    }
    if (kernelStackId >= 0) {
      const addresses = this.#stacks.get(kernelStackId) ?? [];
      const symbols = this.#kernelSymbols(addresses);
      const kernel: Frame[] = addresses.map((a, i) => ({ name: symbols[i]?.name ?? `0x${a.toString(16)}`, kind: 'kernel' }));
      frames.push(...kernel.reverse());
    }
    return frames;
  }

  /** Kernel symbols; none when /proc/kallsyms hides addresses (the stacks are still worth having). */
  #kernelSymbols(addresses: bigint[]): ReturnType<typeof resolveKernelAddresses> {
    if (this.#kernelSymbolsHidden) return [];
    try {
      return resolveKernelAddresses(addresses);
    } catch (err) {
      if (!(err instanceof EbpfError) || err.code !== 'PERMISSION') throw err;
      this.#kernelSymbolsHidden = true;
      return [];
    }
  }

  /** A line per Node.js process seen that has no perf map (so its JavaScript frames are addresses). */
  notices(): string[] {
    const out: string[] = [];
    if (this.#kernelSymbolsHidden) out.push('kernel frames are addresses: /proc/kallsyms shows them only to root or with CAP_SYSLOG');
    for (const [pid, s] of this.#symbolizers) {
      if (!s.perfMap && isNodeProcess(pid)) out.push(missingPerfMapNotice(pid));
      else if (s.perfMap && this.#interpreted.has(pid)) {
        out.push(
          `pid ${pid}: functions V8 still interprets show as ${INTERPRETER_FRAME}; ` +
            'start Node with --interpreted-frames-native-stack too to see their names.',
        );
      }
    }
    return out;
  }
}

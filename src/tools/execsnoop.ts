// execsnoop: every execve on the system, with arguments and result.

import { structMemberOffset } from '../btf';
import { array, cstring, i32, struct, u32, type Infer } from '../codec';
import { syscallGlobals } from './syscalls';
import { commOption, openRingTool, pidOption, RingTool, type RingToolOptions } from './tool';
import * as validate from '../validate';

/** Layout of `aya_node_common::execsnoop::ExecEvent`. */
export const ExecEvent = struct({
  pid: u32,
  /** Read in the kernel from `current->real_parent->tgid`, at offsets found in BTF. */
  ppid: u32,
  uid: u32,
  gid: u32,
  retval: i32,
  argc: u32,
  flags: u32,
  _pad: u32,
  comm: cstring(16),
  /** The path passed to execve (up to 256 bytes). */
  filename: cstring(256),
  args: array(cstring(128), 20),
});
export type ExecEvent = Infer<typeof ExecEvent>;

/** One process execution as execsnoop reports it. */
export interface Exec {
  pid: number;
  ppid: number;
  uid: number;
  gid: number;
  /** The command that called execve (its name from before the exec). */
  comm: string;
  filename: string;
  /** Up to 20 arguments of up to 128 bytes each. */
  argv: string[];
  /** More arguments than were captured. */
  argvTruncated: boolean;
  /** 0, or the negative errno of a failed exec (e.g. -2 for ENOENT). */
  retval: number;
}

const ARGS_TRUNCATED = 1;

export interface ExecsnoopOptions extends RingToolOptions {
  /** Only executions by processes whose comm (before the exec) is this. */
  comm?: string;
  /** Only this process. */
  pid?: number;
  objectPath?: string;
}

/**
 * Traces process executions until closed.
 *
 * ```ts
 * using snoop = Execsnoop.open();
 * for await (const ev of snoop) console.log(ev.pid, ev.argv.join(' '), ev.retval);
 * ```
 */
export class Execsnoop extends RingTool<ExecEvent, Exec> {
  readonly #filter: ExecsnoopOptions;

  private constructor(opened: ReturnType<typeof openRingTool<ExecEvent>>, filter: ExecsnoopOptions) {
    super(opened);
    this.#filter = filter;
  }

  static open(options: ExecsnoopOptions = {}): Execsnoop {
    options = validate.options('options', options);
    const filter = { pid: pidOption(options.pid), comm: commOption(options.comm) };
    const opened = openRingTool('execsnoop', ExecEvent, [
      { program: 'execsnoop_enter', tracepoint: 'sys_enter' },
      { program: 'execsnoop_exit', tracepoint: 'sys_exit' },
    ], {
      objectPath: options.objectPath,
      ringSize: options.ringSize,
      globals: {
        ...syscallGlobals(['execve']),
        TASK_REAL_PARENT_OFFSET: { codec: u32, value: structMemberOffset('task_struct', 'real_parent') },
        TASK_TGID_OFFSET: { codec: u32, value: structMemberOffset('task_struct', 'tgid') },
      },
    });
    return new Execsnoop(opened, filter);
  }

  protected convert(ev: ExecEvent): Exec | undefined {
    if (this.#filter.pid !== undefined && ev.pid !== this.#filter.pid) return undefined;
    if (this.#filter.comm !== undefined && ev.comm !== this.#filter.comm) return undefined;
    return {
      pid: ev.pid,
      ppid: ev.ppid,
      uid: ev.uid,
      gid: ev.gid,
      comm: ev.comm,
      filename: ev.filename,
      argv: ev.args.slice(0, ev.argc),
      argvTruncated: (ev.flags & ARGS_TRUNCATED) !== 0,
      retval: ev.retval,
    };
  }
}

// opensnoop: every open/openat on the system, with flags and result.

import { cstring, i32, struct, u32, type Infer } from '../codec';
import { syscallGlobals } from './syscalls';
import { commOption, openRingTool, pidOption, RingTool, type RingToolOptions } from './tool';
import * as validate from '../validate';

/** Layout of `aya_node_common::opensnoop::OpenEvent`. */
export const OpenEvent = struct({
  pid: u32,
  tid: u32,
  uid: u32,
  flags: i32,
  retval: i32,
  mode: u32,
  comm: cstring(16),
  path: cstring(256),
});
export type OpenEvent = Infer<typeof OpenEvent>;

export interface Open {
  pid: number;
  tid: number;
  uid: number;
  comm: string;
  path: string;
  /** The open flags (`fs.constants.O_*`). */
  flags: number;
  mode: number;
  /** The new fd, or the negative errno (e.g. -2 for ENOENT). */
  retval: number;
}

export interface OpensnoopOptions extends RingToolOptions {
  /** Only this process (filtered in the kernel). */
  pid?: number;
  /** Only processes with this comm (filtered in the kernel; at most 15 bytes). */
  comm?: string;
  objectPath?: string;
}

/** Traces file opens until closed: `for await (const open of Opensnoop.open({ pid }))`. */
export class Opensnoop extends RingTool<OpenEvent, Open> {
  static open(options: OpensnoopOptions = {}): Opensnoop {
    options = validate.options('options', options);
    const pid = pidOption(options.pid);
    const comm = commOption(options.comm);
    const opened = openRingTool('opensnoop', OpenEvent, [
      { program: 'opensnoop_enter', tracepoint: 'sys_enter' },
      { program: 'opensnoop_exit', tracepoint: 'sys_exit' },
    ], {
      objectPath: options.objectPath,
      ringSize: options.ringSize,
      globals: {
        ...syscallGlobals(['open', 'openat']),
        FILTER_PID: { codec: u32, value: pid ?? 0 },
        FILTER_COMM: { codec: cstring(16), value: comm ?? '' },
      },
    });
    return new Opensnoop(opened);
  }

  protected convert(ev: OpenEvent): Open {
    const { pid, tid, uid, comm, path, flags, mode, retval } = ev;
    return { pid, tid, uid, comm, path, flags, mode, retval };
  }
}

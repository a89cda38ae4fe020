// execsnoop: every execve on the system, as an async iterable of typed events.

import { structMemberOffset } from '../btf';
import { cstring, struct, u32, type Infer } from '../codec';
import { Ebpf } from '../object';
import type { RingBuf } from '../maps/ring-buf';
import type { StreamReadOptions } from '../stream';
import { TracePoint } from '../programs';
import { bundledObjectPath } from './objects';

/** Layout of `aya_node_common::execsnoop::ExecEvent`. */
export const ExecEvent = struct({
  pid: u32,
  /** Read in the kernel from `current->real_parent->tgid`, at offsets found in BTF. */
  ppid: u32,
  uid: u32,
  gid: u32,
  comm: cstring(16),
  /** The path passed to execve (up to 256 bytes). */
  filename: cstring(256),
});
export type ExecEvent = Infer<typeof ExecEvent>;

/**
 * Traces process executions until closed.
 *
 * ```ts
 * using snoop = Execsnoop.open();
 * for await (const ev of snoop) console.log(ev.pid, ev.comm, ev.filename);
 * ```
 */
export class Execsnoop implements AsyncIterable<ExecEvent>, Disposable {
  readonly object: Ebpf;
  readonly events: RingBuf<ExecEvent>;

  private constructor(object: Ebpf, events: RingBuf<ExecEvent>) {
    this.object = object;
    this.events = events;
  }

  static open(options: { objectPath?: string } = {}): Execsnoop {
    const object = Ebpf.load(options.objectPath ?? bundledObjectPath('execsnoop'), {
      globals: {
        TASK_REAL_PARENT_OFFSET: { codec: u32, value: structMemberOffset('task_struct', 'real_parent') },
        TASK_TGID_OFFSET: { codec: u32, value: structMemberOffset('task_struct', 'tgid') },
      },
    });
    try {
      object.program('execsnoop', TracePoint).attach('syscalls', 'sys_enter_execve');
      return new Execsnoop(object, object.ringBuf('EVENTS', ExecEvent));
    } catch (err) {
      object.close();
      throw err;
    }
  }

  /** The events, one at a time; pass a signal to stop. */
  stream(options?: StreamReadOptions): AsyncGenerator<ExecEvent, void, undefined> {
    return this.events.events(options);
  }

  [Symbol.asyncIterator](): AsyncIterator<ExecEvent> {
    return this.stream();
  }

  close(): void {
    this.object.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

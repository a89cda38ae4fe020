// Where the scheduler tools (runqlat, offcpu) find a task's pid and state: offsets in
// `struct task_struct`, from the kernel's BTF (the raw `sched_*` tracepoints pass task pointers).

import { structMemberOffset } from '../btf';
import { u32 } from '../codec';
import type { GlobalValue } from '../object';

/** `TASK_PID_OFFSET` and `TASK_STATE_OFFSET` (`__state` since Linux 5.14, `state` before). */
export function taskGlobals(): Record<string, GlobalValue> {
  let state: number;
  try {
    state = structMemberOffset('task_struct', '__state');
  } catch {
    state = structMemberOffset('task_struct', 'state');
  }
  return {
    TASK_PID_OFFSET: { codec: u32, value: structMemberOffset('task_struct', 'pid') },
    TASK_STATE_OFFSET: { codec: u32, value: state },
  };
}

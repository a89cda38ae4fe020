// What the scheduler counted for every thread of a process so far (/proc/PID/task/TID/schedstat):
// time on a CPU, time runnable but waiting in the run queue, and how many times its threads were
// put on a CPU (each wake-up counts once: steadier than time on a shared VM).

import { readdirSync, readFileSync } from 'node:fs';

export interface Schedstat {
  onCpuNs: number;
  waitNs: number;
  runs: number;
}

export function schedstat(pid: number): Schedstat {
  const sum = { onCpuNs: 0, waitNs: 0, runs: 0 };
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const [onCpu, wait, runs] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ').map(Number);
      sum.onCpuNs += onCpu;
      sum.waitNs += wait;
      sum.runs += runs;
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return sum;
}

/** The difference of two readings, `to` − `from`. */
export function schedstatSince(from: Schedstat, to: Schedstat): Schedstat {
  return { onCpuNs: to.onCpuNs - from.onCpuNs, waitNs: to.waitNs - from.waitNs, runs: to.runs - from.runs };
}

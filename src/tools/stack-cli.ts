// The CLI's `profile` and `offcpu`: folded stacks on stdout (or JSON lines), and with
// --svg/--speedscope the same stacks as a flame graph file and a speedscope file, rewritten
// at each report. Notices (a Node.js process without a perf map) go to stderr once each.

import { writeFileSync } from 'node:fs';
import { OffCpu } from './offcpu';
import { Profile, type StackCounts } from './profile';

export interface StackToolOptions {
  pid?: number;
  frequency?: number;
  svg?: string;
  speedscope?: string;
}

export function openStackTool(options: StackToolOptions, offCpu: boolean): StackCounts & { report(json: boolean): string } {
  const tool: StackCounts = offCpu ? OffCpu.open({ pid: options.pid }) : Profile.open({ pid: options.pid, frequency: options.frequency });
  const told = new Set<string>();
  return Object.assign(tool, {
    report(json: boolean): string {
      const stacks = tool.stacks();
      for (const notice of tool.notices()) {
        if (told.has(notice)) continue;
        told.add(notice);
        process.stderr.write(`aya-node: ${notice}\n`);
      }
      if (options.svg !== undefined) writeFileSync(options.svg, tool.svg(stacks));
      if (options.speedscope !== undefined) writeFileSync(options.speedscope, tool.speedscope(stacks));
      if (!json) return tool.folded(stacks);
      return stacks.map(({ pid, comm, frames, count }) => `${JSON.stringify({ pid, comm, frames, count })}\n`).join('');
    },
  });
}

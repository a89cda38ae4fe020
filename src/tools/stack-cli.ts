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
  const said = new Set<string>(); // notices and file paths already told on stderr
  return Object.assign(tool, {
    report(json: boolean): string {
      const stacks = tool.stacks();
      for (const notice of tool.notices()) {
        if (said.has(notice)) continue;
        said.add(notice);
        process.stderr.write(`aya-node: ${notice}\n`);
      }
      const write = (path: string | undefined, what: string, render: () => string) => {
        if (path === undefined) return;
        writeFileSync(path, render());
        if (!said.has(path)) process.stderr.write(`aya-node: wrote ${what} to ${path}\n`);
        said.add(path);
      };
      write(options.svg, 'the flame graph', () => tool.svg(stacks));
      write(options.speedscope, 'the speedscope profile', () => tool.speedscope(stacks));
      if (!json) return tool.folded(stacks);
      return stacks.map(({ pid, comm, frames, count }) => `${JSON.stringify({ pid, comm, frames, count })}\n`).join('');
    },
  });
}

import { invalidArgument } from '../errors';
import type { Link } from '../link';
import { Program } from './program';

const PERF_TYPE_HARDWARE = 0;
const PERF_TYPE_SOFTWARE = 1;

/** Software events (perf's names), `PERF_COUNT_SW_*`. */
export const softwareEvents = {
  'cpu-clock': 0,
  'task-clock': 1,
  'page-faults': 2,
  'context-switches': 3,
  'cpu-migrations': 4,
  'minor-faults': 5,
  'major-faults': 6,
  'alignment-faults': 7,
  'emulation-faults': 8,
  dummy: 9,
  'bpf-output': 10,
  'cgroup-switches': 11,
} as const;

/** Hardware events (perf's names), `PERF_COUNT_HW_*`. Virtual machines often have none. */
export const hardwareEvents = {
  'cpu-cycles': 0,
  instructions: 1,
  'cache-references': 2,
  'cache-misses': 3,
  'branch-instructions': 4,
  'branch-misses': 5,
  'bus-cycles': 6,
  'stalled-cycles-frontend': 7,
  'stalled-cycles-backend': 8,
  'ref-cycles': 9,
} as const;

export type SoftwareEventName = keyof typeof softwareEvents;
export type HardwareEventName = keyof typeof hardwareEvents;

export interface PerfEventOptions {
  /** A software or hardware event by name, or any `perf_event_attr` `{ type, config }`. */
  event: SoftwareEventName | HardwareEventName | { type: number; config: number };
  /** Run the program every `period` events (give this or `frequency`). */
  period?: number;
  /** Run the program about this many times a second (give this or `period`). */
  frequency?: number;
  /** Only this process (`'self'` for this one); every process when absent. */
  pid?: number | 'self';
  /** Only this CPU; every online CPU when absent (one perf event per CPU, one `Link`). */
  cpu?: number;
  /** Also follow children created after attaching (with `pid` only). */
  inherit?: boolean;
}

/**
 * A perf_event program (`#[perf_event]` in aya-ebpf): runs on each sample of a perf event, e.g.
 * a CPU-clock sampler for profiling.
 *
 * ```ts
 * obj.program('on_sample', PerfEvent).attach({ event: 'cpu-clock', frequency: 99 });
 * ```
 *
 * Needs Linux 4.9.
 */
export class PerfEvent extends Program {
  static override readonly kind = 'perf_event';

  attach(options: PerfEventOptions): Link {
    const { type, config } = resolveEvent(options.event);
    if ((options.period === undefined) === (options.frequency === undefined)) {
      throw invalidArgument(`perf event \`${this.name}\`: give exactly one of period or frequency`);
    }
    const pid = options.pid === 'self' ? 0 : options.pid;
    const rate = options.period !== undefined ? `period ${options.period}` : `${options.frequency} Hz`;
    const scope = `${pid === undefined ? 'all processes' : `pid ${options.pid}`}, ${options.cpu === undefined ? 'all CPUs' : `CPU ${options.cpu}`}`;
    const name = typeof options.event === 'string' ? options.event : `${type}:${config}`;
    return this.attachWith(`perf event ${name} (${rate}, ${scope})`, (object) =>
      object.attachPerfEvent(this.name, {
        eventType: type,
        config,
        samplePeriod: options.period,
        sampleFrequency: options.frequency,
        pid,
        cpu: options.cpu,
        inherit: options.inherit,
      }),
    );
  }
}

function resolveEvent(event: PerfEventOptions['event']): { type: number; config: number } {
  if (typeof event === 'object' && event !== null) return event;
  if (typeof event === 'string') {
    if (Object.hasOwn(softwareEvents, event)) {
      return { type: PERF_TYPE_SOFTWARE, config: softwareEvents[event as SoftwareEventName] };
    }
    if (Object.hasOwn(hardwareEvents, event)) {
      return { type: PERF_TYPE_HARDWARE, config: hardwareEvents[event as HardwareEventName] };
    }
  }
  throw invalidArgument(`unknown perf event ${JSON.stringify(event)}`);
}

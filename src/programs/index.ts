import { Program, type ProgramClass } from './program';
import { TracePoint } from './trace-point';

export { Program, type ProgramClass } from './program';
export { TracePoint } from './trace-point';

/** The class for each program kind that has one; other kinds come back as plain `Program`. */
export const programClasses: ReadonlyMap<string, ProgramClass<Program>> = new Map(
  [TracePoint].map((cls) => [cls.kind, cls as ProgramClass<Program>]),
);

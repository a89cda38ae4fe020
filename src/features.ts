import * as native from './native';

/** Named kernel features, probed once. */
export type KernelFeatures = native.KernelFeatures;

let cached: KernelFeatures | undefined;

/**
 * Probes this kernel for BTF, ring buffers, TCX, kprobes, uprobes, bpffs, test runs and
 * statistics (cached after the first answer). Without the privileges to probe (root, or
 * CAP_BPF) it cannot tell: it throws a `PermissionError` instead of reporting features
 * missing, and caches nothing. Tests use it to decide what to skip:
 *
 * ```ts
 * const { kprobe, kprobeReason } = kernelFeatures();
 * (kprobe ? test : test.skip)(`kprobe attach ${kprobeReason ?? ''}`, ...)
 * ```
 */
export function kernelFeatures(): KernelFeatures {
  cached ??= native.kernelFeatures();
  return cached;
}

/** Whether programs of kernel type `type` (e.g. `xdp`, `sched_cls`, `lsm`) can be loaded. */
export function isProgramTypeSupported(type: string): boolean {
  return native.isProgramTypeSupported(type);
}

/** Whether maps of kernel type `type` (e.g. `ringbuf`, `lru_hash`) can be created. */
export function isMapTypeSupported(type: string): boolean {
  return native.isMapTypeSupported(type);
}

/**
 * Whether a program of kernel type `programType` may call helper number `helper`
 * (`enum bpf_func_id`: 1 map_lookup_elem, 6 trace_printk, 130 ringbuf_output, ...).
 */
export function isHelperSupported(programType: string, helper: number): boolean {
  return native.isHelperSupported(programType, helper);
}

/** The program and map type names the probes accept. */
export function knownTypes(): { programs: string[]; maps: string[] } {
  return { programs: native.knownProgramTypes(), maps: native.knownMapTypes() };
}

import * as native from './native';
import * as validate from './validate';

/**
 * Byte offset of `member` inside kernel `struct name`, read from the kernel's BTF
 * (`/sys/kernel/btf/vmlinux` unless `btfPath` is given). Members of anonymous inner
 * structs and unions are found too.
 *
 * Rust eBPF objects carry no CO-RE relocations; pass such offsets to a program as globals
 * instead (see the bundled execsnoop).
 */
export function structMemberOffset(struct: string, member: string, btfPath?: string): number {
  validate.name('struct', struct);
  validate.name('member', member);
  if (btfPath !== undefined) validate.name('btfPath', btfPath);
  // Each lookup reads and walks the whole BTF file (MBs); a tool opening needs a dozen.
  const key = `${btfPath ?? ''}\0${struct}\0${member}`;
  let offset = offsets.get(key);
  if (offset === undefined) {
    offset = native.btfStructMemberOffset(struct, member, btfPath);
    offsets.set(key, offset);
  }
  return offset;
}

/** Offsets found so far (a kernel's BTF does not change while it runs), bounded by the names asked for. */
const offsets = new Map<string, number>();

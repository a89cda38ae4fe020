import * as native from './native';

/**
 * Byte offset of `member` inside kernel `struct name`, read from the kernel's BTF
 * (`/sys/kernel/btf/vmlinux` unless `btfPath` is given). Members of anonymous inner
 * structs and unions are found too.
 *
 * Rust eBPF objects carry no CO-RE relocations; pass such offsets to a program as globals
 * instead (see the bundled execsnoop).
 */
export function structMemberOffset(struct: string, member: string, btfPath?: string): number {
  return native.btfStructMemberOffset(struct, member, btfPath);
}

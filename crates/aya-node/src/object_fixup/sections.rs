//! libbpf's section names that Aya 0.14 does not know. Aya rejects a whole object over one
//! unknown program section, so each is handled before Aya sees it:
//!
//! * `tc`, `tcx/...` are TC classifiers: renamed `classifier`.
//! * `ksyscall/NAME`, `kretsyscall/NAME` are kprobes on the syscall's entry function: renamed
//!   `kprobe/__x64_sys_NAME` (the arch's wrapper, or `sys_NAME` on kernels without wrappers).
//! * `usdt` programs are uprobe-type programs: renamed `uprobe`, remembered as USDT.
//! * `syscall` (BPF_PROG_TYPE_SYSCALL) and `struct_ops` programs have no Aya program type:
//!   their sections are hidden from Aya (no longer marked executable) and listed here, so the
//!   object loads and those programs are handled (or refused clearly) by aya-node itself.
//!
//! A rename changes the ELF section name and every `.BTF.ext` block keyed by it.

use super::{btf::FUNC, btf_ext, elf::Elf, elf::SHF_EXECINSTR, Kernel, LocalBtf};
use crate::error::Result;

/// A program section Aya does not load.
#[derive(Clone, Debug)]
pub struct HiddenSection {
    pub index: usize,
    pub section: String,
    /// `syscall` or `struct_ops`.
    pub kind: &'static str,
}

/// The name Aya knows for a libbpf section name, or why Aya cannot take it.
enum Mapping {
    Rename(String),
    Hide(&'static str),
    Keep,
}

fn map_name(name: &str, syscall_prefix: &mut dyn FnMut() -> Result<String>) -> Result<Mapping> {
    let (first, rest) = name.split_once('/').map_or((name, None), |(f, r)| (f, Some(r)));
    let with_rest = |kind: &str| match rest {
        Some(r) => format!("{kind}/{r}"),
        None => kind.to_string(),
    };
    Ok(match first {
        "tc" | "tcx" => Mapping::Rename(with_rest("classifier")),
        "usdt" => Mapping::Rename(with_rest("uprobe")),
        "ksyscall" | "kretsyscall" => {
            let probe = if first == "ksyscall" { "kprobe" } else { "kretprobe" };
            match rest {
                Some(syscall) if !syscall.is_empty() => Mapping::Rename(format!("{probe}/{}{syscall}", syscall_prefix()?)),
                _ => Mapping::Keep,
            }
        }
        "syscall" => Mapping::Hide("syscall"),
        "struct_ops" | "struct_ops.s" => Mapping::Hide("struct_ops"),
        _ => Mapping::Keep,
    })
}

/// The prefix of syscall entry functions on this kernel.
fn syscall_prefix(kernel: &mut Kernel) -> Result<String> {
    let btf = kernel.btf()?;
    Ok(["__x64_sys_", "__arm64_sys_", "__s390x_sys_", "__riscv_sys_"]
        .into_iter()
        .find(|p| !btf.find(FUNC, &format!("{p}bpf")).is_empty())
        .unwrap_or("sys_")
        .to_string())
}

pub fn apply(elf: &mut Elf, mut local: Option<&mut LocalBtf>, kernel: &mut Kernel) -> Result<Vec<HiddenSection>> {
    let mut hidden = Vec::new();
    let ext = elf.find(".BTF.ext");
    let mut prefix: Option<String> = None;
    for index in 0..elf.sections.len() {
        let header = &elf.sections[index];
        if header.flags & SHF_EXECINSTR == 0 || header.size == 0 {
            continue;
        }
        let name = elf.section_name(index).to_string();
        let mapping = map_name(&name, &mut || {
            if prefix.is_none() {
                prefix = Some(syscall_prefix(kernel)?);
            }
            Ok(prefix.clone().unwrap_or_default())
        })?;
        match mapping {
            Mapping::Keep => {}
            Mapping::Hide(kind) => {
                elf.sections[index].flags &= !SHF_EXECINSTR;
                elf.mark_changed();
                hidden.push(HiddenSection { index, section: name, kind });
            }
            Mapping::Rename(new) => {
                elf.rename(index, &new);
                if let (Some(local), Some(ext)) = (local.as_deref_mut(), ext) {
                    let new_off = local.btf.add_string(&new);
                    local.changed = true;
                    let offsets: Vec<u32> = btf_ext::section_names(elf.data_of(ext))
                        .into_iter()
                        .filter(|&off| local.btf.string(off) == name)
                        .collect();
                    if let Some(bytes) = elf.data_mut(ext) {
                        for off in offsets {
                            btf_ext::rename_section(bytes, off, new_off);
                        }
                    }
                }
            }
        }
    }
    Ok(hidden)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn mapped(name: &str) -> String {
        match map_name(name, &mut || Ok("__x64_sys_".to_string())).unwrap() {
            Mapping::Rename(n) => n,
            Mapping::Hide(kind) => format!("hidden {kind}"),
            Mapping::Keep => "kept".to_string(),
        }
    }

    #[test]
    fn libbpf_names() {
        assert_eq!(mapped("tc"), "classifier");
        assert_eq!(mapped("tcx/ingress"), "classifier/ingress");
        assert_eq!(mapped("ksyscall/openat"), "kprobe/__x64_sys_openat");
        assert_eq!(mapped("kretsyscall/openat"), "kretprobe/__x64_sys_openat");
        assert_eq!(mapped("usdt"), "uprobe");
        assert_eq!(mapped("usdt/libc.so.6:libc:setjmp"), "uprobe/libc.so.6:libc:setjmp");
        assert_eq!(mapped("syscall"), "hidden syscall");
        assert_eq!(mapped("struct_ops/dctcp_init"), "hidden struct_ops");
        assert_eq!(mapped("struct_ops.s/x"), "hidden struct_ops");
        assert_eq!(mapped("tracepoint/syscalls/sys_enter_openat"), "kept");
        assert_eq!(mapped("classifier"), "kept");
    }
}

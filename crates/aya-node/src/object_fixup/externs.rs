//! `.kconfig` and `.ksyms` externs, resolved the way libbpf resolves them.
//!
//! * `.kconfig` (`extern int LINUX_KERNEL_VERSION __kconfig`, `CONFIG_*`): the values are laid
//!   out in a new read-only data section, `.rodata.kconfig`, which Aya turns into a frozen
//!   array map like any `.rodata`; the extern symbols become symbols of that section, so the
//!   programs' loads of them are relocated by Aya as loads of globals.
//! * `.ksyms` (`extern const void sym __ksym` and typed ones): instructions are patched here,
//!   with the symbol's address from /proc/kallsyms (untyped), or its BTF id in the kernel's BTF
//!   (typed variables, kfuncs), and their relocations are dropped.
//!
//! In both, the extern VARs become allocated ones (the kernel refuses extern linkage in BTF).

use std::collections::HashMap;

use super::{btf::*, elf::Elf, Kernel, LocalBtf};
use crate::error::{Code, NodeError, Result};

const KCONFIG_SECTION: &str = ".rodata.kconfig";
const VAR_GLOBAL_ALLOCATED: u32 = 1;
const FUNC_GLOBAL: u32 = 1;
const PSEUDO_BTF_ID: u8 = 3;
const PSEUDO_KFUNC_CALL: u8 = 2;
/// /proc/config.gz is ~25 KiB compressed; anything near this is not a kernel config.
const MAX_CONFIG: usize = 16 << 20;

/// What the kernel says about itself, read once and only when an extern needs it.
#[derive(Default)]
pub struct KernelFacts {
    config: Option<HashMap<String, String>>,
    kallsyms: Option<HashMap<String, u64>>,
}

impl KernelFacts {
    fn config(&mut self) -> Result<&HashMap<String, String>> {
        if self.config.is_none() {
            self.config = Some(parse_config(&read_config()?));
        }
        Ok(self.config.get_or_insert_with(HashMap::new))
    }

    fn kallsyms(&mut self) -> Result<&HashMap<String, u64>> {
        if self.kallsyms.is_none() {
            let text = std::fs::read_to_string("/proc/kallsyms").map_err(|e| NodeError::syscall("open /proc/kallsyms", e))?;
            let mut symbols = HashMap::new();
            for line in text.lines() {
                let mut fields = line.split_whitespace();
                let (Some(address), Some(_), Some(name)) = (fields.next(), fields.next(), fields.next()) else { continue };
                if let Ok(address) = u64::from_str_radix(address, 16) {
                    symbols.entry(name.to_string()).or_insert(address);
                }
            }
            self.kallsyms = Some(symbols);
        }
        Ok(self.kallsyms.get_or_insert_with(HashMap::new))
    }
}

/// The kernel config as text: /boot/config-$(uname -r) first, then /proc/config.gz (libbpf's order).
fn read_config() -> Result<String> {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    if let Ok(text) = std::fs::read_to_string(format!("/boot/config-{}", release.trim())) {
        return Ok(text);
    }
    let packed = std::fs::read("/proc/config.gz").map_err(|e| {
        let mut err = NodeError::syscall("open /proc/config.gz", e);
        err.code = Code::Unsupported;
        err.message = format!("the kernel config is needed for __kconfig externs and neither /boot/config-{} nor /proc/config.gz is readable: {}", release.trim(), err.message);
        err
    })?;
    let text = gunzip(&packed).ok_or_else(|| NodeError::new(Code::Parse, "/proc/config.gz is not valid gzip"))?;
    Ok(String::from_utf8_lossy(&text).into_owned())
}

/// Decompresses a single-member gzip file (RFC 1952), at most [`MAX_CONFIG`] bytes out.
pub fn gunzip(data: &[u8]) -> Option<Vec<u8>> {
    if data.get(0..3)? != [0x1f, 0x8b, 8] {
        return None;
    }
    let flags = *data.get(3)?;
    let mut at = 10;
    if flags & 4 != 0 {
        let extra = u16::from_le_bytes([*data.get(at)?, *data.get(at + 1)?]) as usize;
        at += 2 + extra;
    }
    for bit in [8, 16] {
        if flags & bit != 0 {
            at += data.get(at..)?.iter().position(|&b| b == 0)? + 1;
        }
    }
    if flags & 2 != 0 {
        at += 2;
    }
    miniz_oxide::inflate::decompress_to_vec_with_limit(data.get(at..)?, MAX_CONFIG).ok()
}

/// `CONFIG_X=value` lines; `# CONFIG_X is not set` means `n`.
pub fn parse_config(text: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for line in text.lines() {
        if let Some((name, value)) = line.split_once('=') {
            if name.starts_with("CONFIG_") {
                out.insert(name.to_string(), value.to_string());
            }
        } else if let Some(name) = line.strip_prefix("# ").and_then(|l| l.strip_suffix(" is not set")) {
            out.insert(name.to_string(), "n".to_string());
        }
    }
    out
}

/// `KERNEL_VERSION(a, b, c)` of a release string such as `6.18.44-fc`.
pub fn kernel_version(release: &str) -> u32 {
    let mut parts = release.trim().split(|c: char| !c.is_ascii_digit()).map(|p| p.parse::<u32>().unwrap_or(0));
    let (a, b, c) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (a << 16) | (b.min(255) << 8) | c.min(255)
}

/// How an extern's C type takes a config value.
#[derive(Debug, PartialEq)]
pub enum KconfigType {
    Bool,
    Tristate,
    Char,
    Str(usize),
    Int { size: usize, signed: bool },
}

fn kconfig_type(btf: &Btf, ty: u32) -> Option<KconfigType> {
    let id = btf.resolve(ty);
    let t = btf.get(id)?;
    match t.kind() {
        INT => {
            let encoding = t.word(0) >> 24;
            let size = t.size_or_type as usize;
            Some(if encoding & 4 != 0 {
                KconfigType::Bool
            } else if size == 1 && (encoding & 2 != 0 || btf.name(id) == "char") {
                KconfigType::Char
            } else {
                KconfigType::Int { size, signed: encoding & 1 != 0 }
            })
        }
        ENUM if btf.name(id) == "libbpf_tristate" => Some(KconfigType::Tristate),
        ENUM => Some(KconfigType::Int { size: t.size_or_type as usize, signed: t.kind_flag() }),
        ARRAY => {
            let (elem, _, len) = btf.array(id)?;
            let e = btf.get(btf.resolve(elem))?;
            (e.kind() == INT && e.size_or_type == 1).then_some(KconfigType::Str(len as usize))
        }
        _ => None,
    }
}

/// The bytes of `value` (a config value: `y`, `m`, `n`, a number or a quoted string) as `ty`.
pub fn kconfig_bytes(name: &str, ty: &KconfigType, value: &str) -> std::result::Result<Vec<u8>, String> {
    let tri = |v: &str| match v {
        "y" => Some(1u8),
        "m" => Some(2),
        "n" => Some(0),
        _ => None,
    };
    match ty {
        KconfigType::Bool => match value {
            "y" => Ok(vec![1]),
            "n" => Ok(vec![0]),
            _ => Err(format!("extern (kconfig) {name}: value {value} is not y or n, which a bool takes")),
        },
        KconfigType::Tristate => tri(value).map(|v| vec![v]).ok_or_else(|| format!("extern (kconfig) {name}: value {value} is not a tristate")),
        KconfigType::Char => match value.as_bytes() {
            [c] if tri(value).is_some() => Ok(vec![*c]),
            _ => Err(format!("extern (kconfig) {name}: value {value} is not one character")),
        },
        KconfigType::Str(len) => {
            let inner = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .ok_or_else(|| format!("extern (kconfig) {name}: value {value} is not a string"))?;
            let mut bytes = inner.replace("\\\"", "\"").replace("\\\\", "\\").into_bytes();
            bytes.truncate(len.saturating_sub(1));
            bytes.resize(*len, 0);
            Ok(bytes)
        }
        KconfigType::Int { size, signed } => {
            let parsed = if let Some(hex) = value.strip_prefix("0x").or_else(|| value.strip_prefix("0X")) {
                i128::from_str_radix(hex, 16)
            } else {
                value.parse::<i128>()
            }
            .map_err(|_| format!("extern (kconfig) {name}: value {value} is not a number"))?;
            let bits = (*size as u32) * 8;
            let fits = if *signed {
                parsed >= -(1i128 << (bits - 1)) && parsed < (1i128 << (bits - 1))
            } else {
                parsed >= 0 && parsed < (1i128 << bits)
            };
            if !fits || *size > 8 || *size == 0 {
                return Err(format!("extern (kconfig) {name}: value {value} does not fit in {size} bytes"));
            }
            Ok(parsed.to_le_bytes()[..*size].to_vec())
        }
    }
}

/// An extern named in a DATASEC: (entry index, type id of the VAR/FUNC, name).
fn datasec_externs(btf: &Btf, sec: u32) -> Vec<(usize, u32, String)> {
    let Some(t) = btf.get(sec) else { return Vec::new() };
    (0..t.vlen()).map(|i| (i, t.word(i * 3), btf.name(t.word(i * 3)).to_string())).collect()
}

pub fn resolve(elf: &mut Elf, local: &mut LocalBtf, kernel: &mut Kernel, facts: &mut KernelFacts) -> Result<()> {
    if let Some(sec) = local.btf.find(DATASEC, ".kconfig").first().copied() {
        kconfig(elf, local, kernel, facts, sec)?;
    }
    if let Some(sec) = local.btf.find(DATASEC, ".ksyms").first().copied() {
        ksyms(elf, local, kernel, facts, sec)?;
    }
    Ok(())
}

fn kconfig(elf: &mut Elf, local: &mut LocalBtf, kernel: &mut Kernel, facts: &mut KernelFacts, sec: u32) -> Result<()> {
    let symbols = elf.symbols();
    let mut contents: Vec<u8> = Vec::new();
    let mut placed = Vec::new();
    for (entry, var, name) in datasec_externs(&local.btf, sec) {
        let ty = local.btf.get(var).map_or(0, |v| v.size_or_type);
        let kind = kconfig_type(&local.btf, ty)
            .ok_or_else(|| NodeError::new(Code::Parse, format!("extern (kconfig) {name}: unsupported type")))?;
        let size = local.btf.size(ty).unwrap_or(0) as usize;
        let align = match kind {
            KconfigType::Str(_) => 1,
            _ => size.clamp(1, 8),
        };
        let symbol = symbols.iter().find(|s| s.name == name && s.shndx == 0);
        let weak = symbol.is_some_and(|s| s.is_weak());
        let value: Option<Vec<u8>> = match name.as_str() {
            "LINUX_KERNEL_VERSION" => {
                let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
                Some(kernel_version(&release).to_le_bytes()[..size.min(4)].to_vec())
            }
            "LINUX_HAS_SYSCALL_WRAPPER" => {
                let wrapper = ["__x64_sys_bpf", "__arm64_sys_bpf", "__s390x_sys_bpf", "__riscv_sys_bpf"];
                let btf = kernel.btf()?;
                Some(vec![wrapper.iter().any(|w| !btf.find(FUNC, w).is_empty()) as u8])
            }
            "LINUX_HAS_BPF_COOKIE" => Some(vec![1]),
            _ if name.starts_with("CONFIG_") => match facts.config()?.get(&name) {
                Some(raw) => Some(kconfig_bytes(&name, &kind, raw).map_err(|m| NodeError::new(Code::Parse, m))?),
                None => None,
            },
            _ => {
                return Err(NodeError::new(Code::NotFound, format!("extern (kconfig) {name}: unknown virtual extern (libbpf knows LINUX_KERNEL_VERSION, LINUX_HAS_SYSCALL_WRAPPER, LINUX_HAS_BPF_COOKIE and CONFIG_*)")))
            }
        };
        let value = match value {
            Some(v) => v,
            None if weak => Vec::new(),
            None => return Err(NodeError::new(Code::NotFound, format!("extern (kconfig) {name}: not set in this kernel's config (declare it __weak to read 0)"))),
        };
        let offset = contents.len().div_ceil(align) * align;
        contents.resize(offset + size, 0);
        let n = value.len().min(size);
        contents[offset..offset + n].copy_from_slice(&value[..n]);
        placed.push((entry, var, symbol.map(|s| s.index), offset, size));
    }
    if contents.is_empty() {
        contents.push(0);
    }
    let section = elf.add_section(KCONFIG_SECTION, super::elf::SHF_ALLOC, contents.clone(), 8);
    let section16 = u16::try_from(section).map_err(|_| NodeError::new(Code::Parse, "too many ELF sections"))?;
    let name = local.btf.add_string(KCONFIG_SECTION);
    for (entry, var, symbol, offset, size) in &placed {
        if let Some(index) = symbol {
            elf.define_symbol(*index, section16, *offset as u64, *size as u64);
        }
        if let Some(v) = local.btf.types.get_mut(*var as usize) {
            v.set_word(0, VAR_GLOBAL_ALLOCATED);
        }
        if let Some(s) = local.btf.types.get_mut(sec as usize) {
            s.set_word(entry * 3 + 1, *offset as u32);
            s.set_word(entry * 3 + 2, *size as u32);
        }
    }
    if let Some(s) = local.btf.types.get_mut(sec as usize) {
        s.name = name;
        s.size_or_type = contents.len() as u32;
    }
    local.changed = true;
    Ok(())
}

#[derive(Debug)]
enum Resolved {
    Address(u64),
    BtfId(u32),
    Kfunc(u32),
    /// A typed variable of a kernel module: its id in the module's BTF, and that BTF's fd.
    ModuleBtfId { id: u32, btf_fd: i32 },
    /// A weak extern the kernel lacks: the extern's index in `.ksyms` names it in poisoned calls.
    Missing(usize),
}

/// `name` (a kfunc if `kind` is FUNC, else a typed variable) looked up in the kernel modules'
/// BTF, for externs vmlinux's BTF lacks, as libbpf looks them up.
fn in_modules(kernel: &mut Kernel, kind: u32, name: &str) -> Result<Option<Resolved>> {
    let Some((module, id)) = kernel.find_in_modules(kind, name)? else { return Ok(None) };
    if kind == FUNC {
        // The call would name the module's BTF by its index in BPF_PROG_LOAD's fd_array.
        return Err(NodeError::new(
            Code::Unsupported,
            format!("extern (ksym) {name}: a kfunc of module {module}; calling a module's kfunc needs BPF_PROG_LOAD's fd_array, which Aya 0.14 does not pass"),
        ));
    }
    let btf_fd = kernel.module_fd(&module)?;
    Ok(Some(Resolved::ModuleBtfId { id, btf_fd }))
}

/// A call to a weak kfunc the kernel lacks becomes a call to helper `POISON_KFUNC + index`,
/// which no kernel has, as libbpf does: the verifier accepts the program when the call is dead
/// code (guarded by `bpf_ksym_exists`, which reads 0), and names it when it is reachable.
const POISON_KFUNC: u32 = 2_002_000_000;

fn ksyms(elf: &mut Elf, local: &mut LocalBtf, kernel: &mut Kernel, facts: &mut KernelFacts, sec: u32) -> Result<()> {
    let symbols = elf.symbols();
    let mut by_symbol: HashMap<usize, Resolved> = HashMap::new();
    let int = local.btf.int_type();
    let mut dummy = None;
    let externs = datasec_externs(&local.btf, sec);
    for (index, (entry, id, name)) in externs.iter().enumerate() {
        let Some(t) = local.btf.get(*id).cloned() else { continue };
        let symbol = symbols.iter().find(|s| &s.name == name && s.shndx == 0);
        let weak = symbol.is_some_and(|s| s.is_weak());
        let mut resolved = if t.kind() == FUNC {
            kernel.btf()?.find(FUNC, name).first().map_or(Resolved::Missing(index), |&id| Resolved::Kfunc(id))
        } else if local.btf.resolve(t.size_or_type) == 0 {
            facts.kallsyms()?.get(name).map_or(Resolved::Missing(index), |&a| Resolved::Address(a))
        } else {
            kernel.btf()?.find(VAR, name).first().map_or(Resolved::Missing(index), |&id| Resolved::BtfId(id))
        };
        let typed = t.kind() == FUNC || local.btf.resolve(t.size_or_type) != 0;
        if matches!(resolved, Resolved::Missing(_)) && typed {
            if let Some(found) = in_modules(kernel, if t.kind() == FUNC { FUNC } else { VAR }, name)? {
                resolved = found;
            }
        }
        if matches!(resolved, Resolved::Missing(_)) && !weak {
            let place = if typed { "the BTF of the kernel and its modules" } else { "/proc/kallsyms" };
            return Err(NodeError::new(Code::NotFound, format!("extern (ksym) {name}: not found in {place}")));
        }
        if let Some(s) = symbol {
            by_symbol.insert(s.index, resolved);
        }
        // The kernel takes allocated, sized VARs only: each extern becomes an int slot.
        let var = if t.kind() == FUNC {
            if let Some(f) = local.btf.types.get_mut(*id as usize) {
                f.info = (f.info & !0xffff) | FUNC_GLOBAL;
            }
            *dummy.get_or_insert_with(|| {
                let dummy_name = local.btf.add_string("aya_node_ksym");
                local.btf.add_type(Type::new(dummy_name, VAR, 0, int, VAR_GLOBAL_ALLOCATED.to_le_bytes().to_vec()))
            })
        } else {
            if let Some(v) = local.btf.types.get_mut(*id as usize) {
                v.size_or_type = int;
                v.set_word(0, VAR_GLOBAL_ALLOCATED);
            }
            *id
        };
        if let Some(s) = local.btf.types.get_mut(sec as usize) {
            s.set_word(entry * 3, var);
            s.set_word(entry * 3 + 1, (*entry * 4) as u32);
            s.set_word(entry * 3 + 2, 4);
        }
    }
    if let Some(s) = local.btf.types.get_mut(sec as usize) {
        s.size_or_type = (externs.len() * 4).max(4) as u32;
    }
    local.changed = true;

    for (rel_section, target) in elf.rel_sections() {
        // Only code: debug info and .BTF relocate against the externs too, and stay as they are.
        if elf.sections.get(target).is_none_or(|h| h.flags & super::elf::SHF_EXECINSTR == 0) {
            continue;
        }
        let rels: Vec<_> = elf.rels(rel_section).into_iter().filter(|r| by_symbol.contains_key(&r.symbol)).collect();
        if rels.is_empty() {
            continue;
        }
        let target_name = elf.section_name(target).to_string();
        let Some(insns) = elf.data_mut(target) else { continue };
        for rel in &rels {
            let at = rel.offset as usize;
            let Some(resolved) = by_symbol.get(&rel.symbol) else { continue };
            patch_ksym(insns, at, resolved).map_err(|why| {
                let name = symbols.get(rel.symbol).map_or("?", |s| s.name.as_str());
                NodeError::new(Code::Parse, format!("extern (ksym) {name} at {target_name}+{at}: {why}"))
            })?;
        }
        elf.retain_rels(rel_section, |r| !by_symbol.contains_key(&r.symbol));
    }
    Ok(())
}

fn patch_ksym(insns: &mut [u8], at: usize, resolved: &Resolved) -> std::result::Result<(), &'static str> {
    let code = *insns.get(at).ok_or("offset out of range")?;
    let set_imm = |insns: &mut [u8], at: usize, v: u32| -> std::result::Result<(), &'static str> {
        insns.get_mut(at + 4..at + 8).ok_or("offset out of range")?.copy_from_slice(&v.to_le_bytes());
        Ok(())
    };
    let set_src = |insns: &mut [u8], at: usize, src: u8| {
        if let Some(regs) = insns.get_mut(at + 1) {
            *regs = (*regs & 0x0f) | (src << 4);
        }
    };
    match (code, resolved) {
        (0x18, Resolved::Address(a)) => {
            set_src(insns, at, 0);
            set_imm(insns, at, *a as u32)?;
            set_imm(insns, at + 8, (*a >> 32) as u32)
        }
        // A kfunc's address (`bpf_ksym_exists`): its BTF id, which the kernel reads as non-zero.
        (0x18, Resolved::BtfId(id) | Resolved::Kfunc(id)) => {
            set_src(insns, at, PSEUDO_BTF_ID);
            set_imm(insns, at, *id)?;
            set_imm(insns, at + 8, 0)
        }
        (0x18, Resolved::ModuleBtfId { id, btf_fd }) => {
            set_src(insns, at, PSEUDO_BTF_ID);
            set_imm(insns, at, *id)?;
            set_imm(insns, at + 8, *btf_fd as u32)
        }
        (0x18, Resolved::Missing(_)) => {
            set_src(insns, at, 0);
            set_imm(insns, at, 0)?;
            set_imm(insns, at + 8, 0)
        }
        (0x85, Resolved::Kfunc(id)) => {
            set_src(insns, at, PSEUDO_KFUNC_CALL);
            insns.get_mut(at + 2..at + 4).ok_or("offset out of range")?.copy_from_slice(&0i16.to_le_bytes());
            set_imm(insns, at, *id)
        }
        (0x85, Resolved::Missing(index)) => {
            if let Some(regs) = insns.get_mut(at + 1) {
                *regs = 0;
            }
            insns.get_mut(at + 2..at + 4).ok_or("offset out of range")?.copy_from_slice(&0i16.to_le_bytes());
            set_imm(insns, at, POISON_KFUNC + *index as u32)
        }
        _ => Err("instruction cannot take a kernel symbol"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn config_values_by_type() {
        let config = parse_config("CONFIG_HZ=250\n# CONFIG_KPROBES is not set\nCONFIG_BPF_JIT=y\nCONFIG_X=m\nCONFIG_S=\"abc\"\nCONFIG_H=0x10\n");
        assert_eq!(config["CONFIG_KPROBES"], "n");
        assert_eq!(kconfig_bytes("HZ", &KconfigType::Int { size: 4, signed: true }, &config["CONFIG_HZ"]).unwrap(), 250i32.to_le_bytes());
        assert_eq!(kconfig_bytes("H", &KconfigType::Int { size: 2, signed: false }, &config["CONFIG_H"]).unwrap(), [16, 0]);
        assert!(kconfig_bytes("H", &KconfigType::Int { size: 1, signed: true }, "200").is_err());
        assert_eq!(kconfig_bytes("J", &KconfigType::Bool, "y").unwrap(), [1]);
        assert!(kconfig_bytes("X", &KconfigType::Bool, "m").is_err(), "a bool cannot be a module");
        assert_eq!(kconfig_bytes("X", &KconfigType::Tristate, "m").unwrap(), [2]);
        assert_eq!(kconfig_bytes("X", &KconfigType::Char, "m").unwrap(), [b'm']);
        assert_eq!(kconfig_bytes("S", &KconfigType::Str(3), "\"abc\"").unwrap(), *b"ab\0");
    }

    #[test]
    fn versions() {
        assert_eq!(kernel_version("6.18.44-fc-v669\n"), (6 << 16) | (18 << 8) | 44);
        assert_eq!(kernel_version("5.4.300"), (5 << 16) | (4 << 8) | 255);
        assert_eq!(kernel_version("6.1"), (6 << 16) | (1 << 8));
    }

    #[test]
    fn weak_kfuncs_the_kernel_lacks_are_poisoned_calls_and_read_zero() {
        // call kfunc (src 1 from clang's relocation), then ld_imm64 r1 = &kfunc.
        let mut insns = vec![0x85, 0x10, 0, 0, 0xff, 0xff, 0xff, 0xff];
        insns.extend_from_slice(&[0x18, 0x01, 0, 0, 1, 2, 3, 4, 0, 0, 0, 0, 5, 6, 7, 8]);
        patch_ksym(&mut insns, 0, &Resolved::Missing(3)).unwrap();
        assert_eq!(insns[..4], [0x85, 0, 0, 0], "a helper call (src 0), no offset");
        assert_eq!(u32::from_le_bytes(insns[4..8].try_into().unwrap()), 2_002_000_003);
        patch_ksym(&mut insns, 8, &Resolved::Missing(3)).unwrap();
        assert!(insns[12..16].iter().chain(&insns[20..24]).all(|&b| b == 0), "bpf_ksym_exists reads 0");
        assert_eq!(insns[9], 0x01, "r1, no pseudo source");

        // Present: a kfunc call by BTF id, and its address as a BTF id load.
        patch_ksym(&mut insns, 0, &Resolved::Kfunc(77)).unwrap();
        assert_eq!((insns[1] >> 4, u32::from_le_bytes(insns[4..8].try_into().unwrap())), (PSEUDO_KFUNC_CALL, 77));
        patch_ksym(&mut insns, 8, &Resolved::Kfunc(77)).unwrap();
        assert_eq!((insns[9] >> 4, u32::from_le_bytes(insns[12..16].try_into().unwrap())), (PSEUDO_BTF_ID, 77));
        // A module's variable: its id, and its module's BTF fd in the second half.
        patch_ksym(&mut insns, 8, &Resolved::ModuleBtfId { id: 90_001, btf_fd: 9 }).unwrap();
        assert_eq!(u32::from_le_bytes(insns[12..16].try_into().unwrap()), 90_001);
        assert_eq!(u32::from_le_bytes(insns[20..24].try_into().unwrap()), 9);
    }

    #[test]
    fn gunzip_rejects_garbage() {
        assert!(gunzip(b"not gzip").is_none());
        assert!(gunzip(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff]).is_none());
    }
}

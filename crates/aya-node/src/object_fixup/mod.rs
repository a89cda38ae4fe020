//! A pass over a C object's ELF before Aya reads it, for what libbpf accepts and Aya 0.14
//! does not: CO-RE relocations through flexible arrays, `.kconfig`/`.ksyms` externs (weak
//! kfuncs, names only modules' BTF has), map sizes chosen at load time, libbpf's section names,
//! and the struct_ops maps of `.struct_ops` variables (laid out here, registered on demand).
//! Each step only acts on what it recognises; an object that needs none of them (every Rust
//! object) is passed through as is.

mod btf;
mod btf_ext;
mod core_flex;
mod elf;
mod externs;
mod map_sizes;
mod sections;
mod struct_ops;

use std::borrow::Cow;

pub use map_sizes::MapSizes;
pub use struct_ops::{placeholder_btf, StructOpsMap};

use crate::error::{Code, NodeError, Result};
use btf::Btf;
use elf::Elf;

/// What the caller asks of the pass.
#[derive(Default)]
pub struct Request<'a> {
    /// Kernel BTF (default /sys/kernel/btf/vmlinux).
    pub btf_path: Option<&'a str>,
    /// Key/value sizes and flags to set, by map name.
    pub map_sizes: Vec<(String, MapSizes)>,
}

/// The kernel's BTF, read the first time a step needs it; kernel modules' BTF likewise, for
/// names vmlinux lacks.
pub struct Kernel {
    path: String,
    btf: Option<Btf>,
    /// Where modules' BTF is (/sys/kernel/btf), when the kernel's own BTF is used.
    modules_dir: Option<String>,
    modules: Option<Vec<(String, Btf)>>,
    /// Fds of the modules' BTF that patched instructions name (by module); open until the
    /// programs load.
    pub module_fds: Vec<(String, std::os::fd::OwnedFd)>,
}

impl Kernel {
    fn new(btf_path: Option<&str>) -> Kernel {
        Kernel {
            path: btf_path.unwrap_or("/sys/kernel/btf/vmlinux").to_string(),
            btf: None,
            // A BTF file the caller chose has no modules beside it.
            modules_dir: btf_path.is_none().then(|| "/sys/kernel/btf".to_string()),
            modules: None,
            module_fds: Vec::new(),
        }
    }

    /// The module whose BTF has a type of `kind` named `name`, and the type's id there (ids of
    /// module types continue vmlinux's), when some module has it.
    pub fn find_in_modules(&mut self, kind: u32, name: &str) -> Result<Option<(String, u32)>> {
        self.btf()?;
        if self.modules.is_none() {
            self.modules = Some(self.modules_dir.as_deref().map(read_modules).unwrap_or_default());
        }
        let (Some(base), Some(modules)) = (self.btf.as_ref(), self.modules.as_ref()) else { return Ok(None) };
        Ok(modules.iter().find_map(|(module, btf)| btf::find_split(btf, base, kind, name).first().map(|&id| (module.clone(), id))))
    }

    /// An fd of `module`'s BTF (opened once), for instructions that name it.
    pub fn module_fd(&mut self, module: &str) -> Result<i32> {
        use std::os::fd::AsRawFd;
        if let Some((_, fd)) = self.module_fds.iter().find(|(m, _)| m == module) {
            return Ok(fd.as_raw_fd());
        }
        let fd = crate::sys::kernel_btf_fd(module)?
            .ok_or_else(|| NodeError::new(Code::NotFound, format!("the kernel has no BTF object for module {module}, though /sys/kernel/btf/{module} exists")))?;
        let raw = fd.as_raw_fd();
        self.module_fds.push((module.to_string(), fd));
        Ok(raw)
    }

    pub fn btf(&mut self) -> Result<&Btf> {
        if self.btf.is_none() {
            let data = std::fs::read(&self.path)
                .map_err(|e| NodeError::syscall("open", e))
                .map_err(|mut e| {
                    e.message = format!("reading kernel BTF {}: {}", self.path, e.message);
                    e
                })?;
            let parsed = Btf::parse(&data)
                .ok_or_else(|| NodeError::new(Code::Parse, format!("{} is not little-endian BTF", self.path)))?;
            self.btf = Some(parsed);
        }
        self.btf.as_ref().ok_or_else(|| NodeError::new(Code::Parse, "kernel BTF unavailable"))
    }
}

/// Every module's BTF in `dir` (all but `vmlinux`), by module name; unreadable ones are skipped.
fn read_modules(dir: &str) -> Vec<(String, Btf)> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut out: Vec<(String, Btf)> = entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name == "vmlinux" {
                return None;
            }
            Some((name, Btf::parse(&std::fs::read(entry.path()).ok()?)?))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The object's `.BTF`, parsed, and whether a step changed it.
pub struct LocalBtf {
    pub btf: Btf,
    pub section: usize,
    pub changed: bool,
}

/// A global or map that a hidden program's instruction loads.
#[derive(Clone, Debug)]
pub struct MapRef {
    /// Byte offset of the `ld_imm64` in the program's instructions.
    pub at: usize,
    /// Aya's name of the map: the map's symbol, or the data section's name for globals.
    pub map: String,
    /// For globals: the offset in the data map's value (`None`: the map itself).
    pub value_offset: Option<u32>,
}

/// A program whose type Aya does not have (see `sections`), ready for aya-node to load.
#[derive(Clone, Debug)]
pub struct HiddenProgram {
    pub name: String,
    pub section: String,
    /// `syscall` or `struct_ops`.
    pub kind: &'static str,
    pub insns: Vec<u8>,
    pub map_refs: Vec<MapRef>,
    /// Why it cannot be loaded by aya-node, when it cannot (e.g. it calls other functions).
    pub unsupported: Option<String>,
    pub license: String,
    /// For struct_ops programs: the kernel struct's BTF id and the member index it implements.
    pub struct_ops: Option<(u32, u32)>,
    /// `struct_ops.s`: a sleepable program.
    pub sleepable: bool,
}

/// The pass's result: the bytes for Aya and the programs Aya will not see.
pub struct Prepared<'d> {
    pub data: Cow<'d, [u8]>,
    pub hidden: Vec<HiddenProgram>,
    /// Maps still without any value size (for the hint of a map creation error).
    pub unsized_maps: Vec<String>,
    /// The `.struct_ops*` variables, as the kernel's struct_ops maps (registered on demand).
    pub struct_ops: Vec<StructOpsMap>,
    /// Kernel modules' BTF that instructions name by fd: to keep open until the programs load.
    pub module_btf_fds: Vec<std::os::fd::OwnedFd>,
}

/// Runs every step over `data`; borrowed bytes come back when nothing had to change.
pub fn prepare<'d>(data: &'d [u8], request: &Request) -> Result<Prepared<'d>> {
    let Some(mut elf) = Elf::parse(data) else { return Ok(Prepared { data: Cow::Borrowed(data), hidden: Vec::new(), unsized_maps: Vec::new(), struct_ops: Vec::new(), module_btf_fds: Vec::new() }) };
    let mut local = elf.find(".BTF").and_then(|section| {
        Btf::parse(elf.data_of(section)).map(|btf| LocalBtf { btf, section, changed: false })
    });
    let mut kernel = Kernel::new(request.btf_path);

    if let Some(local) = &local {
        relocate_flex_arrays(&mut elf, local, &mut kernel)?;
    }
    map_sizes::apply(&mut elf, local.as_mut(), &request.map_sizes)?;
    if let Some(local) = local.as_mut() {
        externs::resolve(&mut elf, local, &mut kernel, &mut externs::KernelFacts::default())?;
    }

    if let Some(local) = local.as_mut() {
        hidden_functions_static(&elf, local);
    }
    let hidden_sections = sections::apply(&mut elf, local.as_mut(), &mut kernel)?;
    let mut hidden: Vec<HiddenProgram> = hidden_sections.iter().flat_map(|h| hidden_programs(&elf, h)).collect();
    let mut struct_ops = Vec::new();
    if let Some(local) = local.as_ref() {
        struct_ops::targets(&elf, local, &mut kernel, &mut hidden);
        struct_ops = struct_ops::maps(&elf, local, &mut kernel);
    }

    let unsized_maps = local.as_ref().map(|l| map_sizes::unsized_maps(&l.btf)).unwrap_or_default();
    if let Some(local) = local.filter(|l| l.changed) {
        elf.set_data(local.section, local.btf.write());
    }
    let data = if elf.changed() { Cow::Owned(elf.finish()) } else { Cow::Borrowed(data) };
    let module_btf_fds = kernel.module_fds.into_iter().map(|(_, fd)| fd).collect();
    Ok(Prepared { data, hidden, unsized_maps, struct_ops, module_btf_fds })
}

/// Functions declared `__hidden` (visibility hidden: not callable from other objects, like
/// usdt.bpf.h's `bpf_usdt_arg`) become static in BTF, as libbpf does, so the verifier checks
/// them with their callers' argument types instead of as separately verified global functions.
/// Only objects compiled from C (a FILE symbol names a `.c` source): bpf-linker's Rust objects
/// have hidden `memcpy`/`bcmp`-style functions too, and must reach Aya unchanged.
fn hidden_functions_static(elf: &Elf, local: &mut LocalBtf) {
    const STV_HIDDEN: u8 = 2;
    let symbols = elf.symbols();
    if !symbols.iter().any(|s| s.info & 0xf == 4 && s.name.ends_with(".c")) {
        return;
    }
    let hidden: Vec<String> = symbols
        .into_iter()
        .filter(|s| s.info & 0xf == 2 && matches!(s.info >> 4, 1 | 2) && s.other & 3 == STV_HIDDEN)
        .map(|s| s.name)
        .collect();
    for name in hidden {
        for id in local.btf.find(btf::FUNC, &name) {
            if let Some(t) = local.btf.types.get_mut(id as usize) {
                if t.vlen() == 1 {
                    t.info &= !0xffff;
                    local.changed = true;
                }
            }
        }
    }
}

/// The functions of a hidden section, each with its instructions and the maps it loads.
fn hidden_programs(elf: &Elf, hidden: &sections::HiddenSection) -> Vec<HiddenProgram> {
    let symbols = elf.symbols();
    let code = elf.data_of(hidden.index);
    let license = elf.find("license").map_or(String::new(), |l| {
        let bytes = elf.data_of(l);
        String::from_utf8_lossy(&bytes[..bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len())]).into_owned()
    });
    let rels: Vec<elf::Rel> = elf
        .rel_sections()
        .into_iter()
        .filter(|&(_, target)| target == hidden.index)
        .flat_map(|(rel, _)| elf.rels(rel))
        .collect();
    let mut out = Vec::new();
    for function in symbols.iter().filter(|s| s.shndx as usize == hidden.index && s.info & 0xf == 2) {
        let start = function.value as usize;
        let Some(insns) = code.get(start..start + function.size as usize) else { continue };
        let mut map_refs = Vec::new();
        let mut unsupported = None;
        for rel in rels.iter().filter(|r| (r.offset as usize) >= start && (r.offset as usize) < start + insns.len()) {
            let at = rel.offset as usize - start;
            let Some(symbol) = symbols.get(rel.symbol) else { continue };
            let target = elf.section_name(symbol.shndx as usize);
            let is_call = insns.get(at) == Some(&0x85);
            if is_call || elf.sections.get(symbol.shndx as usize).is_some_and(|h| h.flags & elf::SHF_EXECINSTR != 0) {
                unsupported = Some(format!("it calls other functions ({}), which aya-node does not link for {} programs", symbol.name, hidden.kind));
                continue;
            }
            let imm = insns.get(at + 4..at + 8).map_or(0, |b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]));
            if target == ".maps" || target.starts_with("maps") {
                map_refs.push(MapRef { at, map: symbol.name.clone(), value_offset: None });
            } else if target.starts_with(".data") || target.starts_with(".bss") || target.starts_with(".rodata") {
                // A section symbol carries the offset in the instruction; a variable's symbol in its value.
                let base = if symbol.info & 0xf == 3 { 0 } else { symbol.value as i64 };
                map_refs.push(MapRef { at, map: target.to_string(), value_offset: Some((base + imm as i64) as u32) });
            } else {
                unsupported = Some(format!("it refers to {} in section {target}", symbol.name));
            }
        }
        out.push(HiddenProgram {
            name: function.name.clone(),
            section: hidden.section.clone(),
            kind: hidden.kind,
            insns: insns.to_vec(),
            map_refs,
            unsupported,
            license: license.clone(),
            struct_ops: None,
            sleepable: hidden.section.starts_with("struct_ops.s/"),
        });
    }
    out
}

/// Step 1: CO-RE relocations through flexible arrays (see `core_flex`).
fn relocate_flex_arrays(elf: &mut Elf, local: &LocalBtf, kernel: &mut Kernel) -> Result<()> {
    let Some(ext_index) = elf.find(".BTF.ext") else { return Ok(()) };
    let relos = btf_ext::core_relos(elf.data_of(ext_index));
    let mut done = Vec::new();
    for (n, relo) in relos.iter().enumerate() {
        if !core_flex::handles(&local.btf, relo) {
            continue;
        }
        let section_name = local.btf.string(relo.sec_name).to_string();
        let access = local.btf.string(relo.access).to_string();
        let (expected, value) = core_flex::relocate(&local.btf, relo, kernel)?;
        let section = elf
            .find(&section_name)
            .ok_or_else(|| NodeError::new(Code::Parse, format!("CO-RE relocation for missing section {section_name}")))?;
        let insns = elf.data_mut(section).ok_or_else(|| NodeError::new(Code::Parse, format!("section {section_name} has no instructions")))?;
        core_flex::patch(insns, relo.insn_off as usize, expected, value).map_err(|why| {
            NodeError::new(Code::Parse, format!("CO-RE relocation at {section_name}+{} ({access}): {why}", relo.insn_off))
        })?;
        done.push(n);
    }
    if !done.is_empty() {
        if let Some(ext) = elf.data_mut(ext_index) {
            btf_ext::drop_core_relos(ext, &done);
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// The Rust objects the build makes (ebpf/objects) need nothing from this pass: they come
    /// back as the very same bytes, so Aya sees what it saw before the pass existed.
    #[test]
    fn rust_objects_pass_through_untouched() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ebpf/objects");
        let Ok(entries) = std::fs::read_dir(&dir) else { return };
        let mut seen = 0;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "o") {
                continue;
            }
            let data = std::fs::read(&path).unwrap();
            let prepared = prepare(&data, &Request::default()).unwrap();
            assert!(matches!(prepared.data, Cow::Borrowed(_)), "{} was changed", path.display());
            assert!(prepared.hidden.is_empty() && prepared.struct_ops.is_empty());
            seen += 1;
        }
        assert!(seen > 0, "no objects in {}", dir.display());
    }

    /// Names vmlinux lacks are looked up in the modules' BTF files beside it (not in vmlinux
    /// again), with ids that continue vmlinux's.
    #[test]
    fn module_btf_is_searched_for_names_vmlinux_lacks() {
        let dir = std::env::temp_dir().join(format!("aya-node-module-btf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut base = Btf::empty();
        let int = base.int_type();
        let mut module = Btf::empty();
        let name = base.strings.len() as u32 + module.add_string("mod_counter");
        module.add_type(btf::Type::new(name, btf::VAR, 0, int, vec![0; 4]));
        std::fs::write(dir.join("vmlinux"), base.write()).unwrap();
        std::fs::write(dir.join("zz_mod"), module.write()).unwrap();
        std::fs::write(dir.join("broken"), b"not btf").unwrap();
        let mut kernel = Kernel { modules_dir: Some(dir.to_string_lossy().into_owned()), ..Kernel::new(Some(&dir.join("vmlinux").to_string_lossy())) };
        assert_eq!(kernel.find_in_modules(btf::VAR, "mod_counter").unwrap(), Some(("zz_mod".to_string(), 2)));
        assert_eq!(kernel.find_in_modules(btf::VAR, "int").unwrap(), None);
        // A BTF file the caller chose (btfPath) has no modules.
        let mut chosen = Kernel::new(Some(&dir.join("vmlinux").to_string_lossy()));
        assert_eq!(chosen.find_in_modules(btf::VAR, "mod_counter").unwrap(), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn non_elf_input_is_left_to_aya() {
        let prepared = prepare(b"not an object", &Request::default()).unwrap();
        assert!(matches!(prepared.data, Cow::Borrowed(b"not an object")));
    }
}

//! A pass over a C object's ELF before Aya reads it, for what libbpf accepts and Aya 0.14
//! does not: CO-RE relocations through flexible arrays, `.kconfig`/`.ksyms` externs, map
//! sizes chosen at load time and libbpf's section names. Each step only acts on what it
//! recognises; an object that needs none of them (every Rust object) is passed through as is.

mod btf;
mod btf_ext;
mod core_flex;
mod elf;
mod externs;
mod map_sizes;

use std::borrow::Cow;

pub use map_sizes::MapSizes;

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

/// The kernel's BTF, read the first time a step needs it.
pub struct Kernel {
    path: String,
    btf: Option<Btf>,
}

impl Kernel {
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

/// The object's `.BTF`, parsed, and whether a step changed it.
pub struct LocalBtf {
    pub btf: Btf,
    pub section: usize,
    pub changed: bool,
}

/// Runs every step over `data`; borrowed bytes come back when nothing had to change.
pub fn prepare<'d>(data: &'d [u8], request: &Request) -> Result<Cow<'d, [u8]>> {
    let Some(mut elf) = Elf::parse(data) else { return Ok(Cow::Borrowed(data)) };
    let mut local = elf.find(".BTF").and_then(|section| {
        Btf::parse(elf.data_of(section)).map(|btf| LocalBtf { btf, section, changed: false })
    });
    let mut kernel = Kernel { path: request.btf_path.unwrap_or("/sys/kernel/btf/vmlinux").to_string(), btf: None };

    if let Some(local) = &local {
        relocate_flex_arrays(&mut elf, local, &mut kernel)?;
    }
    map_sizes::apply(&mut elf, local.as_mut(), &request.map_sizes)?;
    if let Some(local) = local.as_mut() {
        externs::resolve(&mut elf, local, &mut kernel, &mut externs::KernelFacts::default())?;
    }

    if let Some(local) = local.filter(|l| l.changed) {
        elf.set_data(local.section, local.btf.write());
    }
    Ok(if elf.changed() { Cow::Owned(elf.finish()) } else { Cow::Borrowed(data) })
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

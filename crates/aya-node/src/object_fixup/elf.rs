//! A small editor for relocatable 64-bit little-endian ELF files (what clang emits for BPF).
//!
//! Edits never move what they do not touch: bytes patched in place stay where they are, a
//! section whose contents change size gets its new contents appended at the end of the file,
//! new sections and a rewritten section header table are appended too. Offsets that other
//! parts of the file keep (relocations, `.BTF.ext` instruction offsets) are section-relative,
//! so they stay valid.

use std::collections::HashMap;

const SHDR_SIZE: usize = 64;
const SYM_SIZE: usize = 24;
const REL_SIZE: usize = 16;

pub const SHT_PROGBITS: u32 = 1;
pub const SHT_SYMTAB: u32 = 2;
pub const SHT_NOBITS: u32 = 8;
pub const SHT_REL: u32 = 9;
pub const SHF_ALLOC: u64 = 2;
pub const SHF_EXECINSTR: u64 = 4;

#[derive(Clone, Debug)]
pub struct SectionHeader {
    pub name: u32,
    pub kind: u32,
    pub flags: u64,
    pub addr: u64,
    pub offset: u64,
    pub size: u64,
    pub link: u32,
    pub info: u32,
    pub align: u64,
    pub entsize: u64,
}

#[derive(Clone, Debug)]
pub struct Symbol {
    /// Index in the symbol table.
    pub index: usize,
    pub name: String,
    pub info: u8,
    pub other: u8,
    pub shndx: u16,
    pub value: u64,
    pub size: u64,
}

impl Symbol {
    pub fn is_weak(&self) -> bool {
        self.info >> 4 == 2
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Rel {
    /// Byte offset in the section the relocations apply to.
    pub offset: u64,
    pub symbol: usize,
}

pub struct Elf {
    data: Vec<u8>,
    pub sections: Vec<SectionHeader>,
    shstrndx: usize,
    /// Sections whose contents were replaced (appended at the end on `finish`).
    replaced: HashMap<usize, Vec<u8>>,
    /// Extra section names, appended to the section name table.
    shstrtab: Option<Vec<u8>>,
    changed: bool,
}

fn u16_at(d: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_le_bytes(d.get(off..off + 2)?.try_into().ok()?))
}
fn u32_at(d: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(d.get(off..off + 4)?.try_into().ok()?))
}
fn u64_at(d: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_le_bytes(d.get(off..off + 8)?.try_into().ok()?))
}

fn cstr(d: &[u8], off: usize) -> Option<&str> {
    let rest = d.get(off..)?;
    let len = rest.iter().position(|&b| b == 0)?;
    std::str::from_utf8(&rest[..len]).ok()
}

impl Elf {
    /// Parses `data` if it is a 64-bit little-endian relocatable ELF for BPF (EM_BPF = 247);
    /// anything else gives `None` and is left for Aya to judge.
    pub fn parse(data: &[u8]) -> Option<Elf> {
        if data.get(0..4)? != b"\x7fELF" || *data.get(4)? != 2 || *data.get(5)? != 1 {
            return None;
        }
        if u16_at(data, 16)? != 1 || u16_at(data, 18)? != 247 {
            return None;
        }
        let shoff = u64_at(data, 40)? as usize;
        let shentsize = u16_at(data, 58)? as usize;
        let shnum = u16_at(data, 60)? as usize;
        let shstrndx = u16_at(data, 62)? as usize;
        if shentsize != SHDR_SIZE || shnum == 0 || shstrndx >= shnum {
            return None;
        }
        let mut sections = Vec::with_capacity(shnum);
        for i in 0..shnum {
            let h = shoff.checked_add(i * SHDR_SIZE)?;
            let header = SectionHeader {
                name: u32_at(data, h)?,
                kind: u32_at(data, h + 4)?,
                flags: u64_at(data, h + 8)?,
                addr: u64_at(data, h + 16)?,
                offset: u64_at(data, h + 24)?,
                size: u64_at(data, h + 32)?,
                link: u32_at(data, h + 40)?,
                info: u32_at(data, h + 44)?,
                align: u64_at(data, h + 48)?,
                entsize: u64_at(data, h + 56)?,
            };
            if header.kind != SHT_NOBITS && (header.offset as usize).checked_add(header.size as usize)? > data.len() {
                return None;
            }
            sections.push(header);
        }
        Some(Elf { data: data.to_vec(), sections, shstrndx, replaced: HashMap::new(), shstrtab: None, changed: false })
    }

    pub fn changed(&self) -> bool {
        self.changed
    }

    /// Records an edit made directly to `sections`.
    pub fn mark_changed(&mut self) {
        self.changed = true;
    }

    pub fn section_name(&self, index: usize) -> &str {
        let Some(header) = self.sections.get(index) else { return "" };
        let table = self.data_of(self.shstrndx);
        cstr(table, header.name as usize).unwrap_or("")
    }

    pub fn find(&self, name: &str) -> Option<usize> {
        (0..self.sections.len()).find(|&i| self.section_name(i) == name)
    }

    /// The section's bytes (empty for NOBITS).
    pub fn data_of(&self, index: usize) -> &[u8] {
        if index == self.shstrndx {
            if let Some(table) = &self.shstrtab {
                return table;
            }
        }
        if let Some(data) = self.replaced.get(&index) {
            return data;
        }
        match self.sections.get(index) {
            Some(h) if h.kind != SHT_NOBITS => {
                self.data.get(h.offset as usize..(h.offset + h.size) as usize).unwrap_or(&[])
            }
            _ => &[],
        }
    }

    /// Writable bytes of a section, for patches that keep its size.
    pub fn data_mut(&mut self, index: usize) -> Option<&mut [u8]> {
        self.changed = true;
        if let Some(data) = self.replaced.get_mut(&index) {
            return Some(data.as_mut_slice());
        }
        let h = self.sections.get(index)?;
        if h.kind == SHT_NOBITS {
            return None;
        }
        self.data.get_mut(h.offset as usize..(h.offset + h.size) as usize)
    }

    /// Replaces a section's contents (any size).
    pub fn set_data(&mut self, index: usize, contents: Vec<u8>) {
        self.changed = true;
        self.replaced.insert(index, contents);
    }

    fn add_name(&mut self, name: &str) -> u32 {
        let table = self.shstrtab.get_or_insert_with(|| self.data.get(self.sections[self.shstrndx].offset as usize..(self.sections[self.shstrndx].offset + self.sections[self.shstrndx].size) as usize).unwrap_or(&[]).to_vec());
        let at = table.len() as u32;
        table.extend_from_slice(name.as_bytes());
        table.push(0);
        at
    }

    /// Renames a section (the new name is added to the section name table).
    pub fn rename(&mut self, index: usize, name: &str) {
        let at = self.add_name(name);
        if let Some(h) = self.sections.get_mut(index) {
            h.name = at;
            self.changed = true;
        }
    }

    /// Adds a PROGBITS section and returns its index.
    pub fn add_section(&mut self, name: &str, flags: u64, contents: Vec<u8>, align: u64) -> usize {
        let at = self.add_name(name);
        let index = self.sections.len();
        self.sections.push(SectionHeader {
            name: at,
            kind: SHT_PROGBITS,
            flags,
            addr: 0,
            offset: 0,
            size: contents.len() as u64,
            link: 0,
            info: 0,
            align,
            entsize: 0,
        });
        self.replaced.insert(index, contents);
        self.changed = true;
        index
    }

    pub fn symtab(&self) -> Option<usize> {
        self.sections.iter().position(|h| h.kind == SHT_SYMTAB)
    }

    pub fn symbols(&self) -> Vec<Symbol> {
        let Some(symtab) = self.symtab() else { return Vec::new() };
        let strtab = self.data_of(self.sections[symtab].link as usize);
        let table = self.data_of(symtab);
        let mut out = Vec::new();
        for index in 0..table.len() / SYM_SIZE {
            let at = index * SYM_SIZE;
            let (Some(name), Some(shndx), Some(value), Some(size)) =
                (u32_at(table, at), u16_at(table, at + 6), u64_at(table, at + 8), u64_at(table, at + 16))
            else {
                break;
            };
            out.push(Symbol {
                index,
                name: cstr(strtab, name as usize).unwrap_or("").to_string(),
                info: table[at + 4],
                other: table[at + 5],
                shndx,
                value,
                size,
            });
        }
        out
    }

    /// Rewrites symbol `index` to be defined in `shndx` at `value` (global object of `size`).
    pub fn define_symbol(&mut self, index: usize, shndx: u16, value: u64, size: u64) {
        let Some(symtab) = self.symtab() else { return };
        let Some(table) = self.data_mut(symtab) else { return };
        let at = index * SYM_SIZE;
        if let Some(entry) = table.get_mut(at..at + SYM_SIZE) {
            entry[4] = (1 << 4) | 1; // STB_GLOBAL, STT_OBJECT
            entry[6..8].copy_from_slice(&shndx.to_le_bytes());
            entry[8..16].copy_from_slice(&value.to_le_bytes());
            entry[16..24].copy_from_slice(&size.to_le_bytes());
        }
    }

    /// The relocation sections: (index of the REL section, index of the section it applies to).
    pub fn rel_sections(&self) -> Vec<(usize, usize)> {
        (0..self.sections.len())
            .filter(|&i| self.sections[i].kind == SHT_REL)
            .map(|i| (i, self.sections[i].info as usize))
            .collect()
    }

    pub fn rels(&self, rel_section: usize) -> Vec<Rel> {
        let table = self.data_of(rel_section);
        (0..table.len() / REL_SIZE)
            .filter_map(|i| {
                let offset = u64_at(table, i * REL_SIZE)?;
                let info = u64_at(table, i * REL_SIZE + 8)?;
                Some(Rel { offset, symbol: (info >> 32) as usize })
            })
            .collect()
    }

    /// Keeps only the relocations of `rel_section` for which `keep` is true.
    pub fn retain_rels(&mut self, rel_section: usize, keep: impl Fn(&Rel) -> bool) {
        let table = self.data_of(rel_section).to_vec();
        let mut kept = Vec::with_capacity(table.len());
        for (rel, raw) in self.rels(rel_section).iter().zip(table.chunks_exact(REL_SIZE)) {
            if keep(rel) {
                kept.extend_from_slice(raw);
            }
        }
        if kept.len() != table.len() {
            self.set_data(rel_section, kept);
        }
    }

    /// The edited file.
    pub fn finish(mut self) -> Vec<u8> {
        let mut out = std::mem::take(&mut self.data);
        let mut appended: Vec<(usize, Vec<u8>)> = self.replaced.drain().collect();
        if let Some(table) = self.shstrtab.take() {
            appended.push((self.shstrndx, table));
        }
        appended.sort_by_key(|(i, _)| *i);
        for (index, contents) in appended {
            let align = self.sections[index].align.max(1) as usize;
            out.resize(out.len().div_ceil(align) * align, 0);
            let h = &mut self.sections[index];
            h.offset = out.len() as u64;
            h.size = contents.len() as u64;
            if h.kind == SHT_NOBITS {
                h.kind = SHT_PROGBITS;
            }
            out.extend_from_slice(&contents);
        }
        out.resize(out.len().div_ceil(8) * 8, 0);
        let shoff = out.len() as u64;
        for h in &self.sections {
            out.extend_from_slice(&h.name.to_le_bytes());
            out.extend_from_slice(&h.kind.to_le_bytes());
            out.extend_from_slice(&h.flags.to_le_bytes());
            out.extend_from_slice(&h.addr.to_le_bytes());
            out.extend_from_slice(&h.offset.to_le_bytes());
            out.extend_from_slice(&h.size.to_le_bytes());
            out.extend_from_slice(&h.link.to_le_bytes());
            out.extend_from_slice(&h.info.to_le_bytes());
            out.extend_from_slice(&h.align.to_le_bytes());
            out.extend_from_slice(&h.entsize.to_le_bytes());
        }
        out[40..48].copy_from_slice(&shoff.to_le_bytes());
        out[60..62].copy_from_slice(&(self.sections.len() as u16).to_le_bytes());
        out
    }
}

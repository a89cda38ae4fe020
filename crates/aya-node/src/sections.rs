//! What aya-node reads of an ELF object itself, with the `object` crate, before Aya does:
//! - the ELF section each program came from (e.g. `tracepoint/syscalls/sys_enter_execve`):
//!   Aya turns section names into its program kinds and keeps no string;
//! - whether the sizes it declares are sane: Aya allocates a zeroed buffer of the declared size
//!   for each section without file data (`.bss`), and a failed allocation aborts the process;
//! - which maps it declares pinned (Aya would pin them in /sys/fs/bpf by default).

use std::collections::HashMap;

use object::{Object, ObjectSection, ObjectSymbol, SectionKind, SymbolKind, SymbolSection};

use crate::error::{Code, NodeError, Result};

/// Largest section without file data (`.bss`) accepted. The kernel refuses array map values
/// above KMALLOC_MAX_SIZE (4 MiB with 4 KiB pages), so a larger `.bss` could never load anyway.
pub const MAX_ZEROED_SECTION: u64 = 64 << 20;
/// Largest sum of such sections in one object.
pub const MAX_ZEROED_TOTAL: u64 = 256 << 20;

/// Refuses an object whose sections without file data declare sizes that would make Aya
/// allocate more than [`MAX_ZEROED_SECTION`] (each) or [`MAX_ZEROED_TOTAL`] (together). Sections
/// with file data are bounded by the file. An ELF `object` cannot parse is left to Aya, which
/// reports the real parse error.
pub fn check_sizes(data: &[u8]) -> Result<()> {
    let Ok(file) = object::File::parse(data) else {
        return Ok(());
    };
    let mut total: u64 = 0;
    for section in file.sections() {
        if section.file_range().is_some() && section.kind() != SectionKind::UninitializedData {
            continue;
        }
        let size = section.size();
        let name = section.name().unwrap_or("?");
        if size > MAX_ZEROED_SECTION {
            return Err(NodeError::new(
                Code::Parse,
                format!("section `{name}` declares {size} bytes without file data; at most {MAX_ZEROED_SECTION} are accepted (the kernel takes at most 4 MiB of global data per section)"),
            ));
        }
        total = total.saturating_add(size);
        if total > MAX_ZEROED_TOTAL {
            return Err(NodeError::new(
                Code::Parse,
                format!("the sections without file data declare more than {MAX_ZEROED_TOTAL} bytes together"),
            ));
        }
    }
    Ok(())
}

/// Function name -> name of the section that holds it, for every function symbol of `data`.
/// Aya names programs after their function symbol, so this covers every program. An ELF that
/// cannot be read gives an empty map (Aya reports the real parse error).
pub fn program_sections(data: &[u8]) -> HashMap<String, String> {
    let mut sections = HashMap::new();
    let Ok(file) = object::File::parse(data) else {
        return sections;
    };
    for symbol in file.symbols() {
        if symbol.kind() != SymbolKind::Text {
            continue;
        }
        let SymbolSection::Section(index) = symbol.section() else {
            continue;
        };
        let (Ok(name), Ok(section)) = (symbol.name(), file.section_by_index(index)) else {
            continue;
        };
        if let Ok(section_name) = section.name() {
            sections.insert(name.to_string(), section_name.to_string());
        }
    }
    sections
}

/// The maps `data` declares pinned by name (legacy and BTF map definitions), sorted. An object
/// Aya cannot parse gives none (the load reports the parse error).
pub fn pinned_maps(data: &[u8]) -> Vec<String> {
    let Ok(object) = aya_obj::Object::parse(data) else {
        return Vec::new();
    };
    let mut names: Vec<String> = object
        .maps
        .iter()
        .filter(|(_, map)| matches!(map.pinning(), aya_obj::maps::PinningType::ByName))
        .map(|(name, _)| name.clone())
        .collect();
    names.sort();
    names
}

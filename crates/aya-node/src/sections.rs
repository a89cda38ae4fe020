//! The ELF section each program of an object came from (e.g. `tracepoint/syscalls/sys_enter_execve`).
//! Aya turns section names into its program kinds and keeps no string, so the names are read
//! here from the object's symbol table, once, when the object is loaded.

use std::collections::HashMap;

use object::{Object, ObjectSection, ObjectSymbol, SymbolKind, SymbolSection};

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

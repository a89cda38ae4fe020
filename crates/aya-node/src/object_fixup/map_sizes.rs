//! Map key/value sizes and flags chosen at load time (libbpf's `bpf_map__set_value_size`,
//! `set_key_size`, `set_map_flags`): libbpf-tools' stack-trace maps declare no `value_size`
//! and let the loader pick it. Aya 0.14 reads map definitions straight from the object, so the
//! definitions are changed here: a legacy `maps` entry is patched in place, a BTF-defined map
//! gets its own copy of its definition struct whose size members say the new values.

use super::{btf::*, elf::Elf, LocalBtf};
use crate::error::{Code, NodeError, Result};

#[derive(Clone, Copy, Debug, Default)]
pub struct MapSizes {
    pub key_size: Option<u32>,
    pub value_size: Option<u32>,
    pub map_flags: Option<u32>,
}

/// (member that holds the number, member that implies it, offset in `struct bpf_map_def`)
const FIELDS: [(&str, Option<&str>, usize); 3] = [("key_size", Some("key"), 4), ("value_size", Some("value"), 8), ("map_flags", None, 16)];

fn wanted(sizes: &MapSizes) -> [Option<u32>; 3] {
    [sizes.key_size, sizes.value_size, sizes.map_flags]
}

pub fn apply(elf: &mut Elf, mut local: Option<&mut LocalBtf>, requests: &[(String, MapSizes)]) -> Result<()> {
    for (name, sizes) in requests {
        if wanted(sizes).iter().all(Option::is_none) {
            continue;
        }
        if set_legacy(elf, name, sizes) {
            continue;
        }
        if let Some(local) = local.as_deref_mut() {
            if set_btf(&mut local.btf, name, sizes) {
                local.changed = true;
                continue;
            }
        }
        return Err(NodeError::new(Code::NotFound, format!("no map named `{name}` in the object (map sizes)")));
    }
    Ok(())
}

/// A map defined as a `struct bpf_map_def` in a `maps` section (Rust objects, old C ones).
fn set_legacy(elf: &mut Elf, name: &str, sizes: &MapSizes) -> bool {
    let Some(symbol) = elf.symbols().into_iter().find(|s| {
        s.name == name && s.shndx != 0 && elf.section_name(s.shndx as usize).starts_with("maps")
    }) else {
        return false;
    };
    let Some(bytes) = elf.data_mut(symbol.shndx as usize) else { return false };
    for ((_, _, at), value) in FIELDS.iter().zip(wanted(sizes)) {
        let at = symbol.value as usize + at;
        if let (Some(value), Some(slot)) = (value, bytes.get_mut(at..at + 4)) {
            slot.copy_from_slice(&value.to_le_bytes());
        }
    }
    true
}

/// A BTF-defined map (`SEC(".maps")`): its VAR gets a copy of the definition struct in which
/// each chosen size is a `name` member pointing to an `int[value]`, as `__uint()` writes it.
fn set_btf(btf: &mut Btf, name: &str, sizes: &MapSizes) -> bool {
    let Some(var) = btf.find(DATASEC, ".maps").into_iter().find_map(|sec| {
        let t = btf.get(sec)?;
        (0..t.vlen()).map(|i| t.word(i * 3)).find(|&v| btf.get(v).is_some_and(|v| v.kind() == VAR) && btf.name(v) == name)
    }) else {
        return false;
    };
    let Some(def) = btf.get(var).map(|v| btf.resolve(v.size_or_type)) else { return false };
    let Some(mut copy) = btf.get(def).filter(|t| t.kind() == STRUCT).cloned() else { return false };
    // A map whose sizes change loses its BTF key and value types (the kernel checks them
    // against the sizes; libbpf ends up creating such maps without them too), so a key or
    // value given by type becomes a size as well.
    let mut sizes = *sizes;
    for (i, implied) in [(0, "key"), (1, "value")] {
        let typed = (0..copy.vlen()).find(|&m| btf.string(copy.word(m * 3)) == implied).and_then(|m| {
            let pointer = btf.get(copy.word(m * 3 + 1))?;
            (pointer.kind() == PTR).then(|| btf.size(pointer.size_or_type)).flatten()
        });
        let slot = if i == 0 { &mut sizes.key_size } else { &mut sizes.value_size };
        if slot.is_none() {
            *slot = typed.and_then(|size| u32::try_from(size).ok());
        }
    }
    let int = btf.int_type();
    for ((field, implied_by, _), value) in FIELDS.iter().zip(wanted(&sizes)) {
        let Some(value) = value else { continue };
        let mut array = Vec::new();
        for w in [int, int, value] {
            array.extend_from_slice(&w.to_le_bytes());
        }
        let array = btf.add_type(Type::new(0, ARRAY, 0, 0, array));
        let pointer = btf.add_type(Type::new(0, PTR, 0, array, Vec::new()));
        let field_name = btf.add_string(field);
        let names: Vec<String> = (0..copy.vlen()).map(|i| btf.string(copy.word(i * 3)).to_string()).collect();
        let slot = names
            .iter()
            .position(|n| n == field)
            .or_else(|| implied_by.and_then(|implied| names.iter().position(|n| n == implied)));
        match slot {
            Some(i) => {
                copy.set_word(i * 3, field_name);
                copy.set_word(i * 3 + 1, pointer);
            }
            None => {
                // A new member at the last member's offset: it fits the struct as is (every
                // member of a map definition is a pointer) and offsets stay in order.
                let last = copy.vlen().saturating_sub(1);
                let offset = copy.word(last * 3 + 2);
                for w in [field_name, pointer, offset] {
                    copy.extra.extend_from_slice(&w.to_le_bytes());
                }
                copy.info += 1;
            }
        }
    }
    let copy = btf.add_type(copy);
    if let Some(v) = btf.types.get_mut(var as usize) {
        v.size_or_type = copy;
    }
    true
}

/// BTF-defined maps that declare no value size at all (neither `value` nor `value_size`),
/// which the kernel refuses unless the loader sets one: named in the load error's hint.
pub fn unsized_maps(btf: &Btf) -> Vec<String> {
    let mut out = Vec::new();
    for sec in btf.find(DATASEC, ".maps") {
        let Some(t) = btf.get(sec) else { continue };
        for i in 0..t.vlen() {
            let var = t.word(i * 3);
            let Some(def) = btf.get(var).map(|v| btf.resolve(v.size_or_type)) else { continue };
            let names: Vec<&str> = btf.members(def).iter().map(|m| btf.string(m.name)).collect();
            if !names.iter().any(|n| *n == "value" || *n == "value_size") {
                out.push(btf.name(var).to_string());
            }
        }
    }
    out
}

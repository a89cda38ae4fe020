//! libbpf's struct_ops: variables of `SEC(".struct_ops")` / `SEC(".struct_ops.link")` (e.g. a
//! `struct tcp_congestion_ops`) whose function-pointer members point to `SEC("struct_ops/...")`
//! programs. From the object and the kernel's BTF, found here:
//!
//! * which kernel struct member each program implements (what the kernel verifies it for), and
//! * each variable's struct_ops map: the kernel's value type (`bpf_struct_ops_<struct>`) and the
//!   value laid out as the kernel's struct, members matched by name as libbpf matches them,
//!   with the place of each program's fd, which `maps::struct_ops` fills in when registering.

use super::{
    btf::{self, Btf},
    elf::{Elf, Symbol},
    HiddenProgram, Kernel, LocalBtf,
};

const STT_OBJECT: u8 = 1;
const STT_FUNC: u8 = 2;
const STT_SECTION: u8 = 3;

/// A struct_ops variable, ready to become the kernel's struct_ops map.
#[derive(Clone, Debug)]
pub struct StructOpsMap {
    /// The variable's name (libbpf's map name).
    pub name: String,
    /// `.struct_ops` or `.struct_ops.link`.
    pub section: String,
    /// The kernel struct it fills in, e.g. `tcp_congestion_ops`.
    pub struct_name: String,
    /// The kernel's BTF id of `bpf_struct_ops_<struct_name>`, the map's value type.
    pub value_type_id: u32,
    /// The map's value in the kernel's layout; program slots are zero.
    pub value: Vec<u8>,
    /// Where each program's fd goes: (byte offset in `value`, program name).
    pub programs: Vec<(usize, String)>,
    /// The data members the variable declares (name, byte offset in `value`, size): what a
    /// caller may set before registering, as a libbpf skeleton's user does.
    pub members: Vec<(String, usize, usize)>,
    /// Why the kernel cannot take it (said when registering, as libbpf says it at load).
    pub refused: Option<String>,
}

/// A pointer to a function stored in a variable: (byte offset in the variable, function name).
type Pointers = Vec<(u64, String)>;

/// A minimal valid BTF (one `int`): what struct_ops map creation wants as its `btf_fd`.
pub fn placeholder_btf() -> Vec<u8> {
    let mut btf = Btf::empty();
    btf.int_type();
    btf.write()
}

/// The variables of the object's `.struct_ops*` sections, each with the functions its
/// relocations point to.
fn variables(elf: &Elf) -> Vec<(Symbol, String, Pointers)> {
    let symbols = elf.symbols();
    let mut out: Vec<(Symbol, String, Pointers)> = Vec::new();
    for (index, _) in elf.sections.iter().enumerate() {
        let section = elf.section_name(index);
        if section != ".struct_ops" && section != ".struct_ops.link" {
            continue;
        }
        for var in symbols.iter().filter(|s| s.shndx as usize == index && s.info & 0xf == STT_OBJECT) {
            out.push((var.clone(), section.to_string(), Vec::new()));
        }
        let data = elf.data_of(index);
        for (rel_section, _) in elf.rel_sections().into_iter().filter(|&(_, target)| target == index) {
            for rel in elf.rels(rel_section) {
                let Some(symbol) = symbols.get(rel.symbol) else { continue };
                // A section symbol (static function) names the function by the addend in the data.
                let function = if symbol.info & 0xf == STT_SECTION {
                    let at = rel.offset as usize;
                    let addend = data.get(at..at + 8).map_or(0, |b| u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]));
                    symbols.iter().find(|s| s.shndx == symbol.shndx && s.info & 0xf == STT_FUNC && s.value == addend)
                } else {
                    Some(symbol)
                };
                let Some(function) = function else { continue };
                if let Some((var, _, pointers)) =
                    out.iter_mut().find(|(v, s, _)| s == section && v.value <= rel.offset && rel.offset < v.value + v.size)
                {
                    pointers.push((rel.offset - var.value, function.name.clone()));
                }
            }
        }
    }
    out
}

/// The local struct type of variable `name` (through its BTF VAR).
fn local_struct(local: &Btf, name: &str) -> Option<u32> {
    let var = *local.find(btf::VAR, name).first()?;
    Some(local.resolve(local.get(var)?.size_or_type))
}

/// Which kernel struct member each struct_ops program implements, found as libbpf finds it:
/// the member of a `.struct_ops` variable that points to the program, looked up by name in
/// the kernel's struct of the same name. Programs not found stay without a target.
pub fn targets(elf: &Elf, local: &LocalBtf, kernel: &mut Kernel, programs: &mut [HiddenProgram]) {
    if !programs.iter().any(|p| p.kind == "struct_ops") {
        return;
    }
    for (var, _, pointers) in variables(elf) {
        let Some(var_type) = local_struct(&local.btf, &var.name) else { continue };
        let struct_name = btf::essential_name(local.btf.name(var_type)).to_string();
        for (offset, function) in pointers {
            let Some(program) = programs.iter_mut().find(|p| p.kind == "struct_ops" && p.name == function) else { continue };
            let Some(member) = local.btf.members(var_type).into_iter().find(|m| m.bit_offset as u64 == offset * 8) else { continue };
            let member_name = local.btf.string(member.name).to_string();
            let Ok(kernel_btf) = kernel.btf() else { return };
            for id in kernel_btf.find(btf::STRUCT, &struct_name) {
                if let Some(index) = kernel_btf.members(id).iter().position(|m| kernel_btf.string(m.name) == member_name) {
                    program.struct_ops = Some((id, index as u32));
                    break;
                }
            }
        }
    }
}

/// The struct_ops maps of the object, one per `.struct_ops*` variable.
pub fn maps(elf: &Elf, local: &LocalBtf, kernel: &mut Kernel) -> Vec<StructOpsMap> {
    let variables = variables(elf);
    if variables.is_empty() {
        return Vec::new();
    }
    let kernel_btf = kernel.btf().ok();
    let mut out = Vec::new();
    for (var, section, pointers) in variables {
        let mut map = StructOpsMap {
            name: var.name.clone(),
            section,
            struct_name: String::new(),
            value_type_id: 0,
            value: Vec::new(),
            programs: Vec::new(),
            members: Vec::new(),
            refused: None,
        };
        let Some(local_type) = local_struct(&local.btf, &var.name) else {
            map.refused = Some(format!("variable `{}` has no BTF type in the object", var.name));
            out.push(map);
            continue;
        };
        map.struct_name = btf::essential_name(local.btf.name(local_type)).to_string();
        let data = elf.data_of(elf.find(&map.section).unwrap_or(0));
        let start = var.value as usize;
        let bytes = data.get(start..start + var.size as usize).unwrap_or(&[]);
        let result = match kernel_btf {
            Some(kernel_btf) => layout(&local.btf, local_type, bytes, &pointers, kernel_btf),
            None => Err("the kernel's BTF (/sys/kernel/btf/vmlinux) is not readable".to_string()),
        };
        match result {
            Ok(laid_out) => {
                map.value_type_id = laid_out.value_type_id;
                map.value = laid_out.value;
                map.programs = laid_out.programs;
                map.members = laid_out.members;
            }
            Err(why) => map.refused = Some(why),
        }
        out.push(map);
    }
    out
}

/// A variable's contents as the kernel's struct_ops value.
#[derive(Debug)]
pub struct Layout {
    pub value_type_id: u32,
    pub value: Vec<u8>,
    pub programs: Vec<(usize, String)>,
    /// Data members: (name, byte offset in `value`, size).
    pub members: Vec<(String, usize, usize)>,
}

/// Lays out `bytes` (a variable of local struct `local_type`, with the functions `pointers`
/// points to) as the kernel's `bpf_struct_ops_<struct>` value, member by member as libbpf
/// does: function pointers get a program slot, data members are copied when their size is
/// the kernel's, members the kernel lacks must be zero; anything else is refused.
pub fn layout(local: &Btf, local_type: u32, bytes: &[u8], pointers: &[(u64, String)], kernel: &Btf) -> Result<Layout, String> {
    let struct_name = btf::essential_name(local.name(local_type)).to_string();
    let value_name = format!("bpf_struct_ops_{struct_name}");
    let Some(&value_type_id) = kernel.find(btf::STRUCT, &value_name).first() else {
        return Err(format!("the kernel has no struct_ops type `{value_name}` (struct `{struct_name}` cannot be registered on this kernel)"));
    };
    let value_size = kernel.size(value_type_id).unwrap_or(0) as usize;
    let Some(data_member) = kernel.members(value_type_id).into_iter().find(|m| kernel.string(m.name) == "data") else {
        return Err(format!("the kernel's `{value_name}` has no `data` member"));
    };
    let kernel_type = kernel.resolve(data_member.ty);
    let data_offset = (data_member.bit_offset / 8) as usize;
    let kernel_members = kernel.members(kernel_type);
    let mut value = vec![0u8; value_size];
    let mut programs = Vec::new();
    let mut members = Vec::new();
    for member in local.members(local_type) {
        let name = local.string(member.name).to_string();
        let local_offset = (member.bit_offset / 8) as usize;
        let local_size = local.size(member.ty).unwrap_or(0) as usize;
        let member_bytes = bytes.get(local_offset..local_offset + local_size).unwrap_or(&[]);
        let pointer = pointers.iter().find(|(at, _)| *at == local_offset as u64).map(|(_, f)| f.clone());
        let is_zero = pointer.is_none() && member_bytes.iter().all(|&b| b == 0);
        let Some(kernel_member) = kernel_members.iter().find(|m| kernel.string(m.name) == name) else {
            if is_zero {
                continue;
            }
            return Err(format!("member `{name}` of `{struct_name}` is set but the kernel's `{struct_name}` has no such member"));
        };
        if member.bitfield_size != 0 || kernel_member.bitfield_size != 0 {
            if is_zero {
                continue;
            }
            return Err(format!("member `{name}` of `{struct_name}` is a bitfield, which struct_ops maps cannot set"));
        }
        let at = data_offset + (kernel_member.bit_offset / 8) as usize;
        let kernel_member_type = kernel.resolve(kernel_member.ty);
        let is_pointer = kernel.get(kernel_member_type).is_some_and(|t| t.kind() == btf::PTR);
        if is_pointer {
            if at + 8 > value.len() {
                return Err(format!("member `{name}` of `{struct_name}` lies outside the kernel's value"));
            }
            match pointer {
                Some(function) => programs.push((at, function)),
                None if is_zero => {}
                None => return Err(format!("member `{name}` of `{struct_name}` is a pointer set to something other than a program")),
            }
            continue;
        }
        if pointer.is_some() {
            return Err(format!("member `{name}` of `{struct_name}` points to a program but is not a pointer in the kernel's struct"));
        }
        let kernel_size = kernel.size(kernel_member_type).unwrap_or(0) as usize;
        if kernel_size != local_size {
            return Err(format!("member `{name}` of `{struct_name}` is {local_size} bytes in the object and {kernel_size} in the kernel"));
        }
        let slot = value
            .get_mut(at..at + kernel_size)
            .ok_or_else(|| format!("member `{name}` of `{struct_name}` lies outside the kernel's value"))?;
        if member_bytes.len() == kernel_size {
            slot.copy_from_slice(member_bytes);
        }
        members.push((name, at, kernel_size));
    }
    Ok(Layout { value_type_id, value, programs, members })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::object_fixup::btf::{Type, INT, PTR, STRUCT};

    /// A BTF with a `char` int, a function pointer type and the structs `members` describe.
    struct Builder {
        btf: Btf,
        int: u32,
        chars: u32,
        pointer: u32,
    }

    impl Builder {
        fn new() -> Builder {
            let mut btf = Btf::empty();
            let int = btf.int_type();
            let char_name = btf.add_string("char");
            let char_type = btf.add_type(Type::new(char_name, INT, 0, 1, (8u32).to_le_bytes().to_vec()));
            let mut array = Vec::new();
            for w in [char_type, int, 16] {
                array.extend_from_slice(&w.to_le_bytes());
            }
            let chars = btf.add_type(Type::new(0, btf::ARRAY, 0, 0, array));
            let proto = btf.add_type(Type::new(0, btf::FUNC_PROTO, 0, int, Vec::new()));
            let pointer = btf.add_type(Type::new(0, PTR, 0, proto, Vec::new()));
            Builder { btf, int, chars, pointer }
        }

        /// A struct of (name, type, byte offset) members.
        fn add_struct(&mut self, name: &str, size: u32, members: &[(&str, u32, u32)]) -> u32 {
            let mut extra = Vec::new();
            for (member, ty, offset) in members {
                let n = self.btf.add_string(member);
                for w in [n, *ty, offset * 8] {
                    extra.extend_from_slice(&w.to_le_bytes());
                }
            }
            let n = self.btf.add_string(name);
            self.btf.add_type(Type::new(n, STRUCT, members.len(), size, extra))
        }
    }

    /// The kernel's `ops` (members a, name, flags, b, in that order) and its value type.
    fn kernel() -> Btf {
        let mut k = Builder::new();
        let (ptr, chars, int) = (k.pointer, k.chars, k.int);
        let ops = k.add_struct("ops", 40, &[("a", ptr, 0), ("name", chars, 8), ("flags", int, 24), ("b", ptr, 32)]);
        let common = k.add_struct("bpf_struct_ops_common_value", 8, &[("refcnt", int, 0), ("state", int, 4)]);
        k.add_struct("bpf_struct_ops_ops", 48, &[("common", common, 0), ("data", ops, 8)]);
        k.btf
    }

    #[test]
    fn members_land_at_the_kernels_offsets_by_name() {
        // The object's struct has other offsets (b first, no flags): matched by name, not place.
        let mut l = Builder::new();
        let (ptr, chars) = (l.pointer, l.chars);
        let local = l.add_struct("ops___mine", 32, &[("b", ptr, 0), ("a", ptr, 8), ("name", chars, 16)]);
        let mut bytes = vec![0u8; 32];
        bytes[16..20].copy_from_slice(b"reno");
        let pointers = vec![(0, "on_b".to_string()), (8, "on_a".to_string())];
        let laid = layout(&l.btf, local, &bytes, &pointers, &kernel()).unwrap();
        assert_eq!(laid.value.len(), 48);
        assert_eq!(laid.programs, vec![(8 + 32, "on_b".to_string()), (8, "on_a".to_string())]);
        assert_eq!(&laid.value[16..20], b"reno", "name copied to data + 8");
        assert_eq!(laid.members, vec![("name".to_string(), 16, 16)], "the data members a caller may set");
        assert!(laid.value[..16].iter().all(|&b| b == 0), "program slots and common part stay zero");
    }

    #[test]
    fn unknown_members_must_be_zero_and_sizes_must_match() {
        let mut l = Builder::new();
        let (ptr, int) = (l.pointer, l.int);
        let local = l.add_struct("ops", 16, &[("a", ptr, 0), ("made_up", int, 8)]);
        let k = kernel();
        let zero = layout(&l.btf, local, &[0u8; 16], &[], &k).unwrap();
        assert!(zero.programs.is_empty(), "a null function pointer is no program");
        let mut set = [0u8; 16];
        set[8] = 1;
        let err = layout(&l.btf, local, &set, &[], &k).unwrap_err();
        assert!(err.contains("`made_up`") && err.contains("no such member"), "{err}");

        let mut l = Builder::new();
        let chars = l.chars;
        let local = l.add_struct("ops", 16, &[("flags", chars, 0)]);
        let err = layout(&l.btf, local, &[0u8; 16], &[], &k).unwrap_err();
        assert!(err.contains("16 bytes in the object and 4 in the kernel"), "{err}");
        let err = layout(&l.btf, local, &[0u8; 16], &[], &Builder::new().btf).unwrap_err();
        assert!(err.contains("no struct_ops type `bpf_struct_ops_ops`"), "{err}");
    }
}

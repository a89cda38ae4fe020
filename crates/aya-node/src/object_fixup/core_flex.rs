//! CO-RE field relocations that go through a flexible array member (`ctx->args[1]` of
//! `struct syscall_trace_enter`, whose `args[]` has no length).
//!
//! aya-obj 0.3.0 rejects those accesses ("array index out of bounds": it checks the element
//! index where it means the member's index), and the releases that fix it need a newer rustc.
//! So they are relocated here, the way libbpf does it: the access string is walked on the
//! object's BTF, then matched by member names on each kernel type of the same name (flavour
//! suffixes `___x` ignored); the instruction gets the kernel's value and the record is removed
//! from `.BTF.ext` so Aya does not see it. Every other record is left to Aya.

use super::{btf::*, btf_ext::CoreRelo, Kernel};
use crate::error::{Code, NodeError, Result};

pub const FIELD_BYTE_OFFSET: u32 = 0;
pub const FIELD_BYTE_SIZE: u32 = 1;
pub const FIELD_EXISTS: u32 = 2;
pub const FIELD_SIGNED: u32 = 3;

/// libbpf's marker for an instruction whose relocation found no kernel field: the verifier
/// rejects it if (and only if) it is reachable.
const POISON_HELPER: i32 = 0xbad2310;

#[derive(Debug, PartialEq)]
enum Step {
    Field(String),
    Index(u64),
}

#[derive(Debug)]
struct Spec {
    root: u32,
    root_index: u64,
    steps: Vec<Step>,
    bit_offset: u64,
    last: u32,
    through_flex: bool,
    bitfield: bool,
}

/// Walks an access string (`0:2:1`) over `btf` from `type_id`.
fn local_spec(btf: &Btf, type_id: u32, access: &str) -> Option<Spec> {
    let parts: Vec<u64> = access.split(':').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    let root = btf.resolve(type_id);
    if !matches!(btf.get(root)?.kind(), STRUCT | UNION) || parts.len() > 64 {
        return None;
    }
    let root_index = *parts.first()?;
    let mut spec = Spec {
        root,
        root_index,
        steps: Vec::new(),
        bit_offset: root_index.checked_mul(btf.size(root)? * 8)?,
        last: root,
        through_flex: false,
        bitfield: false,
    };
    for &part in &parts[1..] {
        let cur = btf.resolve(spec.last);
        match btf.get(cur)?.kind() {
            STRUCT | UNION => {
                let member = btf.members(cur).into_iter().nth(part as usize)?;
                spec.bit_offset += member.bit_offset as u64;
                spec.bitfield = member.bitfield_size != 0;
                let name = btf.string(member.name);
                if !name.is_empty() {
                    spec.steps.push(Step::Field(name.to_string()));
                }
                spec.last = member.ty;
            }
            ARRAY => {
                let (elem, _, len) = btf.array(cur)?;
                spec.through_flex |= len == 0;
                spec.steps.push(Step::Index(part));
                spec.bit_offset = spec.bit_offset.checked_add(part.checked_mul(btf.size(elem)? * 8)?)?;
                spec.last = elem;
                spec.bitfield = false;
            }
            _ => return None,
        }
    }
    Some(spec)
}

/// Finds member `name` of a struct/union, looking inside anonymous members too:
/// (bit offset, member type).
fn find_member(btf: &Btf, id: u32, name: &str, depth: u32) -> Option<(u64, u32)> {
    if depth > 16 {
        return None;
    }
    for m in btf.members(id) {
        let m_name = btf.string(m.name);
        if m_name == name {
            return Some((m.bit_offset as u64, m.ty));
        }
        if m_name.is_empty() {
            let inner = btf.resolve(m.ty);
            if let Some((off, ty)) = find_member(btf, inner, name, depth + 1) {
                return Some((m.bit_offset as u64 + off, ty));
            }
        }
    }
    None
}

/// Whether a local and a kernel field are of compatible kinds (libbpf's rule, shallowly).
fn compatible(local: &Btf, local_id: u32, target: &Btf, target_id: u32) -> bool {
    let (Some(l), Some(t)) = (local.get(local.resolve(local_id)), target.get(target.resolve(target_id))) else {
        return false;
    };
    let class = |k: u32| match k {
        INT | ENUM | ENUM64 => 1,
        k => k,
    };
    class(l.kind()) == class(t.kind())
}

/// Matches `spec` on kernel type `candidate`: (bit offset, last field type).
fn match_spec(local: &Btf, spec: &Spec, target: &Btf, candidate: u32) -> Option<(u64, u32)> {
    let mut bit = spec.root_index.checked_mul(target.size(candidate)? * 8)?;
    let mut cur = candidate;
    for step in &spec.steps {
        let id = target.resolve(cur);
        match step {
            Step::Field(name) => {
                if !matches!(target.get(id)?.kind(), STRUCT | UNION) {
                    return None;
                }
                let (off, ty) = find_member(target, id, name, 0)?;
                bit += off;
                cur = ty;
            }
            Step::Index(i) => {
                let (elem, _, len) = target.array(id)?;
                if len != 0 && *i >= len as u64 {
                    return None;
                }
                bit = bit.checked_add(i.checked_mul(target.size(elem)? * 8)?)?;
                cur = elem;
            }
        }
    }
    compatible(local, spec.last, target, cur).then_some((bit, cur))
}

fn value_of(btf: &Btf, kind: u32, bit_offset: u64, last: u32) -> Option<u64> {
    match kind {
        FIELD_BYTE_OFFSET => Some(bit_offset / 8),
        FIELD_BYTE_SIZE => btf.size(last),
        FIELD_EXISTS => Some(1),
        FIELD_SIGNED => {
            let t = btf.get(btf.resolve(last))?;
            Some(match t.kind() {
                INT => ((t.word(0) >> 24) & 1) as u64,
                ENUM | ENUM64 => t.kind_flag() as u64,
                _ => 0,
            })
        }
        _ => None,
    }
}

/// Whether Aya would fail on this record and it is one relocated here.
pub fn handles(local: &Btf, relo: &CoreRelo) -> bool {
    relo.kind <= FIELD_SIGNED
        && local_spec(local, relo.type_id, local.string(relo.access)).is_some_and(|s| s.through_flex && !s.bitfield)
}

/// The kernel's value for `relo` (`None`: no kernel type has that field).
pub fn relocate(local: &Btf, relo: &CoreRelo, kernel: &mut Kernel) -> Result<(u64, Option<u64>)> {
    let access = local.string(relo.access);
    let spec = local_spec(local, relo.type_id, access)
        .ok_or_else(|| NodeError::new(Code::Parse, format!("invalid CO-RE access string {access}")))?;
    let local_value = value_of(local, relo.kind, spec.bit_offset, spec.last)
        .ok_or_else(|| NodeError::new(Code::Parse, format!("CO-RE relocation kind {} is not supported here", relo.kind)))?;
    let root_kind = local.get(spec.root).map_or(0, |t| t.kind());
    let name = essential_name(local.name(spec.root)).to_string();
    let target = kernel.btf()?;
    let mut found: Option<u64> = None;
    for candidate in target.find(root_kind, &name) {
        let Some((bit, last)) = match_spec(local, &spec, target, candidate) else { continue };
        let Some(value) = value_of(target, relo.kind, bit, last) else { continue };
        match found {
            Some(previous) if previous != value => {
                return Err(NodeError::new(
                    Code::Parse,
                    format!("CO-RE relocation of {name} ({access}): kernel types disagree ({previous} vs {value})"),
                ));
            }
            _ => found = Some(value),
        }
    }
    Ok((local_value, found.or((relo.kind == FIELD_EXISTS).then_some(0))))
}

/// Writes `value` into the instruction at `insns[at..]`, checking that it held `local` (what
/// the compiler computed from the object's BTF); `None` poisons the instruction.
pub fn patch(insns: &mut [u8], at: usize, local: u64, value: Option<u64>) -> std::result::Result<(), String> {
    let insn = insns.get_mut(at..at + 8).ok_or("instruction offset out of range")?;
    let code = insn[0];
    let off = i16::from_le_bytes([insn[2], insn[3]]);
    let imm = i32::from_le_bytes([insn[4], insn[5], insn[6], insn[7]]);
    let Some(value) = value else {
        if code == 0x18 {
            return Err("no kernel field for a 64-bit load".into());
        }
        insn[0] = 0x85;
        insn[1] = 0;
        insn[2..4].copy_from_slice(&0i16.to_le_bytes());
        insn[4..8].copy_from_slice(&POISON_HELPER.to_le_bytes());
        return Ok(());
    };
    match code & 7 {
        // LDX, ST, STX: the field offset is the instruction's offset.
        1..=3 => {
            if off as i64 != local as i64 {
                return Err(format!("instruction offset {off} is not the expected {local}"));
            }
            let new = i16::try_from(value).map_err(|_| format!("field offset {value} does not fit an instruction"))?;
            insn[2..4].copy_from_slice(&new.to_le_bytes());
        }
        // ALU/ALU64 with an immediate operand.
        4 | 7 if code & 0x08 == 0 => {
            if imm as i64 != local as i64 {
                return Err(format!("instruction immediate {imm} is not the expected {local}"));
            }
            let new = i32::try_from(value).map_err(|_| format!("value {value} does not fit an instruction"))?;
            insn[4..8].copy_from_slice(&new.to_le_bytes());
        }
        0 if code == 0x18 => {
            if imm as u32 as u64 != local & 0xffff_ffff {
                return Err(format!("instruction immediate {imm} is not the expected {local}"));
            }
            insn[4..8].copy_from_slice(&(value as u32).to_le_bytes());
            let next = insns.get_mut(at + 12..at + 16).ok_or("64-bit load is truncated")?;
            next.copy_from_slice(&((value >> 32) as u32).to_le_bytes());
        }
        _ => return Err(format!("instruction 0x{code:02x} cannot take a CO-RE value")),
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::object_fixup::{btf_ext::CoreRelo, Kernel};

    /// A BTF with `u64`, `u64[0]` and `struct name { int a; <pad members>; u64 args[]; }`.
    fn btf_with(name: &str, args_bit_offset: u32, pad_members: usize) -> (Btf, u32, u32) {
        let mut btf = Btf::parse(&{
            let mut raw = vec![0x9f, 0xeb, 1, 0];
            for w in [24u32, 0, 0, 0, 1] {
                raw.extend_from_slice(&w.to_le_bytes());
            }
            raw.push(0);
            raw
        })
        .expect("empty BTF");
        let int = btf.int_type();
        let u64_name = btf.add_string("long unsigned int");
        let u64_id = btf.add_type(Type::new(u64_name, INT, 0, 8, (64u32).to_le_bytes().to_vec()));
        let mut arr = Vec::new();
        for w in [u64_id, int, 0] {
            arr.extend_from_slice(&w.to_le_bytes());
        }
        let array = btf.add_type(Type::new(0, ARRAY, 0, 0, arr));
        let mut members = vec![("a", int, 0u32)];
        for i in 0..pad_members {
            members.push((["p0", "p1", "p2"][i], int, 32 * (i as u32 + 1)));
        }
        members.push(("args", array, args_bit_offset));
        let mut extra = Vec::new();
        for (n, t, off) in &members {
            let s = btf.add_string(n);
            for w in [s, *t, *off] {
                extra.extend_from_slice(&w.to_le_bytes());
            }
        }
        let name = btf.add_string(name);
        let id = btf.add_type(Type::new(name, STRUCT, members.len(), args_bit_offset / 8, extra));
        let access = btf.add_string(&format!("0:{}:1", members.len() - 1));
        (btf, id, access)
    }

    #[test]
    fn relocates_a_flexible_array_element_by_member_name() {
        let (local, root, access) = btf_with("syscall_trace_enter___local", 256, 3);
        let (kernel_btf, _, _) = btf_with("syscall_trace_enter", 128, 1);
        let relo = CoreRelo { sec_name: 0, insn_off: 0, type_id: root, access, kind: FIELD_BYTE_OFFSET };
        assert!(handles(&local, &relo), "aya-obj 0.3 fails these; they are handled here");
        let mut kernel = Kernel { btf: Some(kernel_btf), ..Kernel::new(Some("")) };
        let (expected, value) = relocate(&local, &relo, &mut kernel).unwrap();
        assert_eq!((expected, value), (32 + 8, Some(16 + 8)));

        // r1 = *(u64 *)(r6 + 40) becomes r1 = *(u64 *)(r6 + 24).
        let mut insn = [0x79, 0x61, 40, 0, 0, 0, 0, 0];
        patch(&mut insn, 0, expected, value).unwrap();
        assert_eq!(i16::from_le_bytes([insn[2], insn[3]]), 24);
        // An instruction that does not hold the local value is refused, not patched.
        assert!(patch(&mut [0x79, 0x61, 8, 0, 0, 0, 0, 0], 0, expected, value).is_err());
        // No kernel field: the instruction becomes libbpf's poisoned call.
        let mut poisoned = [0x79, 0x61, 40, 0, 0, 0, 0, 0];
        patch(&mut poisoned, 0, expected, None).unwrap();
        assert_eq!(poisoned[0], 0x85);
    }

    #[test]
    fn leaves_fixed_arrays_to_aya() {
        let (mut local, root, _) = btf_with("trace_event_raw_sys_enter", 128, 1);
        // Give the array a length: an ordinary array Aya relocates itself.
        let array = local.types.iter().position(|t| t.kind() == ARRAY).unwrap();
        local.types[array].set_word(2, 6);
        let access = local.add_string("0:2:1");
        assert!(!handles(&local, &CoreRelo { sec_name: 0, insn_off: 0, type_id: root, access, kind: FIELD_BYTE_OFFSET }));
    }
}

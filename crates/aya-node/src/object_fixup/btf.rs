//! BTF as a list of raw type records, editable and writable back: enough to walk structs for
//! CO-RE, find kernel variables and functions by name, and change map definitions and
//! DATASECs of an object before Aya reads them. Type ids never change: types are only ever
//! edited in place or appended.

pub const INT: u32 = 1;
pub const PTR: u32 = 2;
pub const ARRAY: u32 = 3;
pub const STRUCT: u32 = 4;
pub const UNION: u32 = 5;
pub const ENUM: u32 = 6;
pub const TYPEDEF: u32 = 8;
pub const VOLATILE: u32 = 9;
pub const CONST: u32 = 10;
pub const RESTRICT: u32 = 11;
pub const FUNC: u32 = 12;
pub const FUNC_PROTO: u32 = 13;
pub const VAR: u32 = 14;
pub const DATASEC: u32 = 15;
pub const FLOAT: u32 = 16;
pub const TYPE_TAG: u32 = 18;
pub const ENUM64: u32 = 19;

const MAGIC: u16 = 0xeb9f;
const HEADER_LEN: usize = 24;

#[derive(Clone, Debug)]
pub struct Type {
    pub name: u32,
    pub info: u32,
    /// `size` or `type`, depending on the kind.
    pub size_or_type: u32,
    /// The kind-specific data that follows the common part.
    pub extra: Vec<u8>,
}

impl Type {
    pub fn kind(&self) -> u32 {
        (self.info >> 24) & 0x1f
    }
    pub fn vlen(&self) -> usize {
        (self.info & 0xffff) as usize
    }
    pub fn kind_flag(&self) -> bool {
        self.info >> 31 == 1
    }
    pub fn word(&self, i: usize) -> u32 {
        self.extra.get(i * 4..i * 4 + 4).map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub fn set_word(&mut self, i: usize, value: u32) {
        if let Some(b) = self.extra.get_mut(i * 4..i * 4 + 4) {
            b.copy_from_slice(&value.to_le_bytes());
        }
    }
    pub fn new(name: u32, kind: u32, vlen: usize, size_or_type: u32, extra: Vec<u8>) -> Type {
        Type { name, info: (kind << 24) | (vlen as u32 & 0xffff), size_or_type, extra }
    }
}

#[derive(Clone, Debug)]
pub struct Member {
    pub name: u32,
    pub ty: u32,
    pub bit_offset: u32,
    pub bitfield_size: u32,
}

pub struct Btf {
    version: u8,
    flags: u8,
    /// Index 0 is `void`.
    pub types: Vec<Type>,
    pub strings: Vec<u8>,
}

fn extra_len(kind: u32, vlen: usize) -> usize {
    match kind {
        INT | VAR | 17 => 4,
        ARRAY => 12,
        STRUCT | UNION | DATASEC | ENUM64 => 12 * vlen,
        ENUM | FUNC_PROTO => 8 * vlen,
        _ => 0,
    }
}

fn u32_at(d: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(d.get(off..off + 4)?.try_into().ok()?))
}

impl Btf {
    /// A BTF with no types but `void` (to build one up, or to load as a placeholder).
    pub fn empty() -> Btf {
        Btf { version: 1, flags: 0, types: vec![Type::new(0, 0, 0, 0, Vec::new())], strings: vec![0] }
    }

    /// Parses little-endian BTF; `None` for anything else.
    pub fn parse(data: &[u8]) -> Option<Btf> {
        if data.get(0..2)? != MAGIC.to_le_bytes() {
            return None;
        }
        let hdr_len = u32_at(data, 4)? as usize;
        let type_off = hdr_len.checked_add(u32_at(data, 8)? as usize)?;
        let type_len = u32_at(data, 12)? as usize;
        let str_off = hdr_len.checked_add(u32_at(data, 16)? as usize)?;
        let str_len = u32_at(data, 20)? as usize;
        let type_data = data.get(type_off..type_off.checked_add(type_len)?)?;
        let strings = data.get(str_off..str_off.checked_add(str_len)?)?.to_vec();
        let mut types = vec![Type { name: 0, info: 0, size_or_type: 0, extra: Vec::new() }];
        let mut off = 0;
        while off < type_data.len() {
            let name = u32_at(type_data, off)?;
            let info = u32_at(type_data, off + 4)?;
            let size_or_type = u32_at(type_data, off + 8)?;
            let len = extra_len((info >> 24) & 0x1f, (info & 0xffff) as usize);
            let extra = type_data.get(off + 12..off + 12 + len)?.to_vec();
            types.push(Type { name, info, size_or_type, extra });
            off += 12 + len;
        }
        Some(Btf { version: *data.get(2)?, flags: *data.get(3)?, types, strings })
    }

    pub fn write(&self) -> Vec<u8> {
        let mut types = Vec::new();
        for t in self.types.iter().skip(1) {
            types.extend_from_slice(&t.name.to_le_bytes());
            types.extend_from_slice(&t.info.to_le_bytes());
            types.extend_from_slice(&t.size_or_type.to_le_bytes());
            types.extend_from_slice(&t.extra);
        }
        let mut out = Vec::with_capacity(HEADER_LEN + types.len() + self.strings.len());
        out.extend_from_slice(&MAGIC.to_le_bytes());
        out.push(self.version);
        out.push(self.flags);
        out.extend_from_slice(&(HEADER_LEN as u32).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&(types.len() as u32).to_le_bytes());
        out.extend_from_slice(&(types.len() as u32).to_le_bytes());
        out.extend_from_slice(&(self.strings.len() as u32).to_le_bytes());
        out.extend_from_slice(&types);
        out.extend_from_slice(&self.strings);
        out
    }

    pub fn string(&self, off: u32) -> &str {
        let Some(rest) = self.strings.get(off as usize..) else { return "" };
        let len = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        std::str::from_utf8(&rest[..len]).unwrap_or("")
    }

    /// Offset of `s` in the string table, appending it when absent.
    pub fn add_string(&mut self, s: &str) -> u32 {
        let mut needle = s.as_bytes().to_vec();
        needle.push(0);
        let mut start = 0;
        for (i, &b) in self.strings.iter().enumerate() {
            if b == 0 {
                if self.strings[start..=i] == needle[..] {
                    return start as u32;
                }
                start = i + 1;
            }
        }
        let at = self.strings.len() as u32;
        self.strings.extend_from_slice(&needle);
        at
    }

    pub fn add_type(&mut self, t: Type) -> u32 {
        self.types.push(t);
        (self.types.len() - 1) as u32
    }

    pub fn get(&self, id: u32) -> Option<&Type> {
        self.types.get(id as usize)
    }

    pub fn name(&self, id: u32) -> &str {
        self.get(id).map_or("", |t| self.string(t.name))
    }

    /// Follows typedefs and qualifiers to the type they name.
    pub fn resolve(&self, mut id: u32) -> u32 {
        for _ in 0..32 {
            match self.get(id) {
                Some(t) if matches!(t.kind(), TYPEDEF | VOLATILE | CONST | RESTRICT | TYPE_TAG) => id = t.size_or_type,
                _ => break,
            }
        }
        id
    }

    pub fn size(&self, id: u32) -> Option<u64> {
        let id = self.resolve(id);
        let t = self.get(id)?;
        match t.kind() {
            INT | STRUCT | UNION | ENUM | ENUM64 | FLOAT | DATASEC => Some(t.size_or_type as u64),
            PTR => Some(8),
            ARRAY => {
                let (elem, _, n) = self.array(id)?;
                self.size(elem)?.checked_mul(n as u64)
            }
            VAR => self.size(t.size_or_type),
            _ => None,
        }
    }

    pub fn members(&self, id: u32) -> Vec<Member> {
        let Some(t) = self.get(id) else { return Vec::new() };
        if !matches!(t.kind(), STRUCT | UNION) {
            return Vec::new();
        }
        (0..t.vlen())
            .map(|i| {
                let raw = t.word(i * 3 + 2);
                let (bit_offset, bitfield_size) = if t.kind_flag() { (raw & 0xff_ffff, raw >> 24) } else { (raw, 0) };
                Member { name: t.word(i * 3), ty: t.word(i * 3 + 1), bit_offset, bitfield_size }
            })
            .collect()
    }

    /// (element type, index type, number of elements) of an ARRAY.
    pub fn array(&self, id: u32) -> Option<(u32, u32, u32)> {
        let t = self.get(id)?;
        (t.kind() == ARRAY).then(|| (t.word(0), t.word(1), t.word(2)))
    }

    /// Ids of the types of `kind` named `name`.
    pub fn find(&self, kind: u32, name: &str) -> Vec<u32> {
        (1..self.types.len() as u32)
            .filter(|&id| self.types[id as usize].kind() == kind && self.name(id) == name)
            .collect()
    }

    /// A type id of a 4-byte signed `int`, adding one if there is none.
    pub fn int_type(&mut self) -> u32 {
        let found = (1..self.types.len() as u32).find(|&id| {
            let t = &self.types[id as usize];
            t.kind() == INT && t.size_or_type == 4 && t.word(0) == (1 << 24) | 32
        });
        found.unwrap_or_else(|| {
            let name = self.add_string("int");
            self.add_type(Type::new(name, INT, 0, 4, ((1u32 << 24) | 32).to_le_bytes().to_vec()))
        })
    }
}

/// Ids of the types of `kind` named `name` in a kernel module's BTF. A module's BTF is split
/// BTF on top of vmlinux's (`base`): its type ids continue after vmlinux's, and its string
/// offsets after vmlinux's strings (a name may also be one of vmlinux's strings). `module` is
/// that BTF parsed alone, so its own types are at index 1 on.
pub fn find_split(module: &Btf, base: &Btf, kind: u32, name: &str) -> Vec<u32> {
    let base_types = base.types.len() as u32;
    let base_strings = base.strings.len() as u32;
    let string = |off: u32| if off < base_strings { base.string(off) } else { module.string(off - base_strings) };
    (1..module.types.len() as u32)
        .filter(|&i| {
            let t = &module.types[i as usize];
            t.kind() == kind && string(t.name) == name
        })
        .map(|i| base_types + i - 1)
        .collect()
}

/// A type's name without its CO-RE flavour (`task_struct___local` -> `task_struct`).
pub fn essential_name(name: &str) -> &str {
    match name.find("___") {
        Some(at) => &name[..at],
        None => name,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_appends() {
        let mut btf = Btf::empty();
        let int = btf.int_type();
        let name = btf.add_string("pair");
        let mut extra = Vec::new();
        for (n, off) in [("a", 0u32), ("b", 32)] {
            let s = btf.add_string(n);
            extra.extend_from_slice(&s.to_le_bytes());
            extra.extend_from_slice(&int.to_le_bytes());
            extra.extend_from_slice(&off.to_le_bytes());
        }
        let pair = btf.add_type(Type::new(name, STRUCT, 2, 8, extra));
        let bytes = btf.write();
        let back = Btf::parse(&bytes).expect("parses");
        assert_eq!(back.find(STRUCT, "pair"), vec![pair]);
        assert_eq!(back.size(pair), Some(8));
        let members = back.members(pair);
        assert_eq!(back.string(members[1].name), "b");
        assert_eq!(members[1].bit_offset, 32);
        assert_eq!(back.strings, btf.strings);
        assert_eq!(essential_name("task_struct___local"), "task_struct");
    }

    #[test]
    fn module_types_continue_the_base_ids_and_strings() {
        // vmlinux: void, int, VAR shared_name.
        let mut base = Btf::empty();
        let int = base.int_type();
        let shared = base.add_string("shared_name");
        base.add_type(Type::new(shared, VAR, 0, int, vec![0; 4]));
        // A module: its own VAR mod_var (a string of its own) and a FUNC named by a vmlinux string.
        let mut module = Btf::empty();
        let own = base.strings.len() as u32 + module.add_string("mod_var");
        module.add_type(Type::new(own, VAR, 0, int, vec![0; 4]));
        module.add_type(Type::new(shared, FUNC, 0, 0, Vec::new()));
        let module = Btf::parse(&module.write()).unwrap();
        assert_eq!(base.types.len(), 3);
        assert_eq!(find_split(&module, &base, VAR, "mod_var"), vec![3], "the module's first type is id 3");
        assert_eq!(find_split(&module, &base, FUNC, "shared_name"), vec![4]);
        assert!(find_split(&module, &base, VAR, "shared_name").is_empty(), "vmlinux's own VAR is not the module's");
        assert!(find_split(&module, &base, VAR, "int").is_empty());
    }
}

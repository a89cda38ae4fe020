//! The kernel's BTF: Aya's parse of it (what objects load against), and just enough of a BTF
//! reader of our own to find where a member lives in a kernel struct.
//!
//! Rust eBPF objects carry no CO-RE relocations, so programs that read kernel structs
//! (e.g. `task_struct.real_parent`) take the offsets as globals that user space looks up
//! here in `/sys/kernel/btf/vmlinux` before loading.

use std::sync::OnceLock;

use aya::Btf;
use napi_derive::napi;

use crate::error::{AyaContext, Code, NodeError, Result};

const BTF_MAGIC: u16 = 0xeb9f;
const KIND_INT: u32 = 1;
const KIND_ARRAY: u32 = 3;
const KIND_STRUCT: u32 = 4;
const KIND_UNION: u32 = 5;
const KIND_ENUM: u32 = 6;
const KIND_FUNC_PROTO: u32 = 13;
const KIND_VAR: u32 = 14;
const KIND_DATASEC: u32 = 15;
const KIND_DECL_TAG: u32 = 17;
const KIND_ENUM64: u32 = 19;

struct Reader<'a> {
    data: &'a [u8],
}

impl Reader<'_> {
    fn u32_at(&self, off: usize) -> Result<u32> {
        self.data
            .get(off..off + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or_else(|| NodeError::new(Code::Parse, "BTF is truncated"))
    }

    fn str_at(&self, strings: usize, strings_len: usize, off: u32) -> &str {
        let start = strings + off as usize;
        let end = (strings + strings_len).min(self.data.len());
        if start >= end {
            return "";
        }
        let bytes = &self.data[start..end];
        let len = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        std::str::from_utf8(&bytes[..len]).unwrap_or("")
    }
}

/// Byte offset of `member` in `struct name`, searching the kernel BTF at `path`
/// (default `/sys/kernel/btf/vmlinux`). Members of anonymous nested structs/unions are found too.
pub fn struct_member_offset(path: &str, name: &str, member: &str) -> Result<u32> {
    let data = std::fs::read(path).map_err(|e| NodeError::syscall("open BTF", e))?;
    let r = Reader { data: &data };
    let magic = u16::from_le_bytes([data.first().copied().unwrap_or(0), data.get(1).copied().unwrap_or(0)]);
    if magic != BTF_MAGIC {
        return Err(NodeError::new(Code::Parse, format!("{path} is not little-endian BTF")));
    }
    let hdr_len = r.u32_at(4)? as usize;
    let type_off = hdr_len + r.u32_at(8)? as usize;
    let type_len = r.u32_at(12)? as usize;
    let str_off = hdr_len + r.u32_at(16)? as usize;
    let str_len = r.u32_at(20)? as usize;

    // Index every type by id (ids start at 1) so anonymous members can be followed.
    let mut types: Vec<usize> = vec![0];
    let mut off = type_off;
    while off < type_off + type_len {
        types.push(off);
        let info = r.u32_at(off + 4)?;
        let vlen = (info & 0xffff) as usize;
        let kind = (info >> 24) & 0x1f;
        off += 12
            + match kind {
                KIND_INT | KIND_VAR | KIND_DECL_TAG => 4,
                KIND_ARRAY => 12,
                KIND_STRUCT | KIND_UNION => 12 * vlen,
                KIND_ENUM => 8 * vlen,
                KIND_FUNC_PROTO => 8 * vlen,
                KIND_DATASEC => 12 * vlen,
                KIND_ENUM64 => 12 * vlen,
                _ => 0,
            };
    }

    fn search(r: &Reader, types: &[usize], strings: (usize, usize), id: usize, member: &str, depth: u32) -> Result<Option<u32>> {
        let Some(&off) = types.get(id) else { return Ok(None) };
        if depth > 8 || off == 0 {
            return Ok(None);
        }
        let info = r.u32_at(off + 4)?;
        let kind = (info >> 24) & 0x1f;
        if kind != KIND_STRUCT && kind != KIND_UNION {
            return Ok(None);
        }
        let kind_flag = info >> 31 == 1;
        for i in 0..(info & 0xffff) as usize {
            let m = off + 12 + 12 * i;
            let m_name = r.str_at(strings.0, strings.1, r.u32_at(m)?);
            let m_type = r.u32_at(m + 4)? as usize;
            let raw = r.u32_at(m + 8)?;
            let bit_offset = if kind_flag { raw & 0xff_ffff } else { raw };
            if m_name == member {
                return Ok(Some(bit_offset / 8));
            }
            if m_name.is_empty() {
                if let Some(inner) = search(r, types, strings, m_type, member, depth + 1)? {
                    return Ok(Some(bit_offset / 8 + inner));
                }
            }
        }
        Ok(None)
    }

    for (id, &off) in types.iter().enumerate().skip(1) {
        let info = r.u32_at(off + 4)?;
        if (info >> 24) & 0x1f != KIND_STRUCT || r.str_at(str_off, str_len, r.u32_at(off)?) != name {
            continue;
        }
        if let Some(found) = search(&r, &types, (str_off, str_len), id, member, 0)? {
            return Ok(found);
        }
    }
    Err(NodeError::new(Code::NotFound, format!("struct {name} has no member {member} in {path}")))
}

/// Byte offset of `member` in kernel `struct name`, from BTF (`/sys/kernel/btf/vmlinux` by default).
#[napi(js_name = "btfStructMemberOffset")]
pub fn btf_struct_member_offset(name: String, member: String, btf_path: Option<String>) -> napi::Result<u32> {
    let path = btf_path.unwrap_or_else(|| "/sys/kernel/btf/vmlinux".to_string());
    Ok(struct_member_offset(&path, &name, &member)?)
}

static KERNEL_BTF: OnceLock<Btf> = OnceLock::new();

/// The running kernel's BTF (`/sys/kernel/btf/vmlinux`), parsed once per process.
pub fn kernel_btf() -> Result<&'static Btf> {
    if let Some(btf) = KERNEL_BTF.get() {
        return Ok(btf);
    }
    let btf = Btf::from_sys_fs().context(|| "reading the kernel's BTF from /sys/kernel/btf/vmlinux".to_string())?;
    Ok(KERNEL_BTF.get_or_init(|| btf))
}

/// A BTF lookup that failed because the name is not in the kernel's BTF is a NOT_FOUND error.
pub fn btf_target_error(err: NodeError, what: &str, name: &str) -> NodeError {
    if err.message.contains("Unknown BTF type") || err.message.contains("unknown BTF type") {
        let mut e = NodeError::new(Code::NotFound, format!("the kernel has no {what} `{name}` (not in its BTF)"));
        e.errno = err.errno;
        return e;
    }
    err
}

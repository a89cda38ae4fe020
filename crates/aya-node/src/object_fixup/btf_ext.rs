//! `.BTF.ext`: the per-section records (func_info, line_info, CO-RE relocations) that clang
//! emits next to `.BTF`. Each block of records is keyed by its section's name, as an offset in
//! `.BTF`'s string table. Edits are made in place: dropped records shrink a subsection's
//! length in the header and leave unused bytes behind, which readers skip.

#[derive(Clone, Debug)]
pub struct CoreRelo {
    /// The `.BTF` string offset of the section name.
    pub sec_name: u32,
    pub insn_off: u32,
    pub type_id: u32,
    pub access: u32,
    pub kind: u32,
}

fn u32_at(d: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(d.get(off..off + 4)?.try_into().ok()?))
}

/// The three subsections: header field offsets of (offset, length) and their absolute start.
fn subsection(ext: &[u8], which: usize) -> Option<(usize, usize)> {
    let hdr_len = u32_at(ext, 4)? as usize;
    let field = 8 + which * 8;
    if field + 8 > hdr_len {
        return None;
    }
    let off = u32_at(ext, field)? as usize;
    let len = u32_at(ext, field + 4)? as usize;
    let start = hdr_len.checked_add(off)?;
    ext.get(start..start.checked_add(len)?)?;
    Some((start, len))
}

pub const FUNC_INFO: usize = 0;
pub const LINE_INFO: usize = 1;
pub const CORE_RELO: usize = 2;

/// Visits the block headers of a subsection: (absolute offset of the block, rec_size, count).
fn blocks(ext: &[u8], which: usize) -> Vec<(usize, usize, usize)> {
    let Some((start, len)) = subsection(ext, which) else { return Vec::new() };
    if len < 4 {
        return Vec::new();
    }
    let Some(rec_size) = u32_at(ext, start).map(|v| v as usize) else { return Vec::new() };
    let end = start + len;
    let mut at = start + 4;
    let mut out = Vec::new();
    while at + 8 <= end {
        let Some(count) = u32_at(ext, at + 4).map(|v| v as usize) else { break };
        let Some(size) = rec_size.checked_mul(count) else { break };
        if at + 8 + size > end || rec_size == 0 {
            break;
        }
        out.push((at, rec_size, count));
        at += 8 + size;
    }
    out
}

pub fn core_relos(ext: &[u8]) -> Vec<CoreRelo> {
    let mut out = Vec::new();
    for (block, rec_size, count) in blocks(ext, CORE_RELO) {
        let sec_name = u32_at(ext, block).unwrap_or(0);
        for i in 0..count {
            let r = block + 8 + i * rec_size;
            if let (Some(insn_off), Some(type_id), Some(access), Some(kind)) =
                (u32_at(ext, r), u32_at(ext, r + 4), u32_at(ext, r + 8), u32_at(ext, r + 12))
            {
                out.push(CoreRelo { sec_name, insn_off, type_id, access, kind });
            }
        }
    }
    out
}

/// Drops the CO-RE relocation records whose position (in `core_relos` order) is in `drop`.
pub fn drop_core_relos(ext: &mut [u8], drop: &[usize]) {
    let Some((start, _)) = subsection(ext, CORE_RELO) else { return };
    let list = blocks(ext, CORE_RELO);
    let Some(&(_, rec_size, _)) = list.first() else { return };
    let mut out = Vec::new();
    out.extend_from_slice(&(rec_size as u32).to_le_bytes());
    let mut n = 0;
    for (block, _, count) in list {
        let mut kept = Vec::new();
        for i in 0..count {
            if !drop.contains(&n) {
                let r = block + 8 + i * rec_size;
                kept.extend_from_slice(&ext[r..r + rec_size]);
            }
            n += 1;
        }
        if !kept.is_empty() {
            out.extend_from_slice(&ext[block..block + 4]);
            out.extend_from_slice(&((kept.len() / rec_size) as u32).to_le_bytes());
            out.extend_from_slice(&kept);
        }
    }
    let new_len = if out.len() == 4 { 0 } else { out.len() };
    ext[start..start + out.len()].copy_from_slice(&out);
    // core_relo_len is the last u32 of the 32-byte header.
    ext[28..32].copy_from_slice(&(new_len as u32).to_le_bytes());
}

/// Points every block keyed by the section name `from` (a `.BTF` string offset) at `to`.
pub fn rename_section(ext: &mut [u8], from: u32, to: u32) {
    for which in [FUNC_INFO, LINE_INFO, CORE_RELO] {
        for (block, _, _) in blocks(ext, which) {
            if u32_at(ext, block) == Some(from) {
                ext[block..block + 4].copy_from_slice(&to.to_le_bytes());
            }
        }
    }
}

/// Section-name offsets used by the blocks of every subsection.
pub fn section_names(ext: &[u8]) -> Vec<u32> {
    let mut out = Vec::new();
    for which in [FUNC_INFO, LINE_INFO, CORE_RELO] {
        for (block, _, _) in blocks(ext, which) {
            if let Some(name) = u32_at(ext, block) {
                if !out.contains(&name) {
                    out.push(name);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ext_with(records: &[(u32, &[[u32; 4]])]) -> Vec<u8> {
        let mut relo = 16u32.to_le_bytes().to_vec();
        for (sec, recs) in records {
            relo.extend_from_slice(&sec.to_le_bytes());
            relo.extend_from_slice(&(recs.len() as u32).to_le_bytes());
            for r in *recs {
                for w in r {
                    relo.extend_from_slice(&w.to_le_bytes());
                }
            }
        }
        let mut ext = vec![0x9f, 0xeb, 1, 0];
        for w in [32u32, 0, 0, 0, 0, 0, relo.len() as u32] {
            ext.extend_from_slice(&w.to_le_bytes());
        }
        ext.extend_from_slice(&relo);
        ext
    }

    #[test]
    fn drops_records_and_empty_blocks() {
        let mut ext = ext_with(&[(5, &[[0, 1, 2, 0], [8, 1, 2, 0]]), (9, &[[16, 3, 4, 0]])]);
        assert_eq!(core_relos(&ext).len(), 3);
        drop_core_relos(&mut ext, &[1, 2]);
        let left = core_relos(&ext);
        assert_eq!(left.len(), 1);
        assert_eq!((left[0].sec_name, left[0].insn_off), (5, 0));
        drop_core_relos(&mut ext, &[0]);
        assert!(core_relos(&ext).is_empty());
    }

    #[test]
    fn renames_sections() {
        let mut ext = ext_with(&[(5, &[[0, 1, 2, 0]])]);
        rename_section(&mut ext, 5, 77);
        assert_eq!(core_relos(&ext)[0].sec_name, 77);
        assert_eq!(section_names(&ext), vec![77]);
    }
}

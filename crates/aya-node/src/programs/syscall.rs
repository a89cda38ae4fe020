//! Programs Aya 0.14 has no type for, found by the object pre-pass (`object_fixup::sections`):
//! `SEC("syscall")` programs (BPF_PROG_TYPE_SYSCALL, run from user space with a test run) and
//! `struct_ops` programs (loaded for the kernel struct member they implement) are loaded here,
//! with their map and global references resolved against the object's maps. Registering a
//! struct_ops map (which makes the kernel use the programs) is `maps::struct_ops`.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use crate::{
    error::{Code, NodeError, Result},
    kinds::map_data,
    object_fixup::HiddenProgram,
    sys::{self, prog::LoadSpec},
};

const BPF_PROG_TYPE_STRUCT_OPS: u32 = 27;
const BPF_PROG_TYPE_SYSCALL: u32 = 31;
/// Syscall programs must be sleepable.
const BPF_F_SLEEPABLE: u32 = 1 << 4;
const PSEUDO_MAP_FD: u8 = 1;
const PSEUDO_MAP_VALUE: u8 = 2;
/// The verifier log kept on failure, at most.
const LOG_SIZE: usize = 1 << 20;

/// A program the pre-pass kept from Aya, and its fd once loaded.
pub struct HiddenState {
    pub program: HiddenProgram,
    pub fd: Option<OwnedFd>,
}

/// Loads hidden program `name` if needed (resolving its maps in `ebpf`) and returns its fd.
pub fn ensure_loaded<'s>(hidden: &'s mut HiddenState, ebpf: &aya::Ebpf, name: &str) -> Result<BorrowedFd<'s>> {
    if hidden.fd.is_none() {
        hidden.fd = Some(load(hidden, ebpf, name)?);
    }
    hidden
        .fd
        .as_ref()
        .map(|fd| fd.as_fd())
        .ok_or_else(|| NodeError::new(Code::NotFound, format!("no program named `{name}` in the object")))
}

fn load(hidden: &HiddenState, ebpf: &aya::Ebpf, name: &str) -> Result<OwnedFd> {
    let program = hidden.program.clone();
    let kind = program.kind;
    let (prog_type, attach) = match (kind, program.struct_ops) {
        ("syscall", _) => (BPF_PROG_TYPE_SYSCALL, None),
        (_, Some(target)) => (BPF_PROG_TYPE_STRUCT_OPS, Some(target)),
        _ => {
            return Err(NodeError::new(
                Code::Unsupported,
                format!("{kind} program `{name}` (section {}): no member of a kernel struct found for it in the object's .struct_ops variables", program.section),
            )
            .with_program(name))
        }
    };
    if let Some(why) = &program.unsupported {
        return Err(NodeError::new(Code::Unsupported, format!("{kind} program `{name}` cannot be loaded: {why}")).with_program(name));
    }
    let mut insns = program.insns.clone();
    for r in &program.map_refs {
        let map = ebpf.map(&r.map).ok_or_else(|| {
            NodeError::new(Code::NotFound, format!("syscall program `{name}` uses map `{}`, which is not in the object (or was taken)", r.map))
        })?;
        let fd = map_data(map).fd().as_fd().as_raw_fd();
        let (src, second) = match r.value_offset {
            Some(offset) => (PSEUDO_MAP_VALUE, offset),
            None => (PSEUDO_MAP_FD, 0),
        };
        let insn = insns.get_mut(r.at..r.at + 16).ok_or_else(|| NodeError::new(Code::Parse, format!("syscall program `{name}`: map reference out of range")))?;
        insn[1] = (insn[1] & 0x0f) | (src << 4);
        insn[4..8].copy_from_slice(&fd.to_le_bytes());
        insn[12..16].copy_from_slice(&second.to_le_bytes());
    }
    let license = std::ffi::CString::new(program.license.clone()).unwrap_or_default();
    let spec = LoadSpec {
        prog_type,
        insns: &insns,
        license: &license,
        name,
        flags: if kind == "syscall" || program.sleepable { BPF_F_SLEEPABLE } else { 0 },
        expected_attach_type: attach.map_or(0, |(_, member)| member),
        attach_btf_id: attach.map_or(0, |(id, _)| id),
    };
    match sys::prog::load(&spec, &mut []) {
        Ok(fd) => Ok(fd),
        Err(first) => {
            // Load again with a log, as libbpf does, so the error carries the verifier's words.
            let mut log = vec![0u8; LOG_SIZE];
            if let Ok(fd) = sys::prog::load(&spec, &mut log) {
                return Ok(fd);
            }
            let end = log.iter().position(|&b| b == 0).unwrap_or(0);
            let text = String::from_utf8_lossy(&log[..end]).into_owned();
            let mut err = NodeError::from(first);
            err.message = format!("loading {kind} program `{name}`: {}", err.message);
            if !text.is_empty() && err.errno != Some(libc::EPERM) {
                err.code = Code::Verifier;
                err.verifier_log = Some(text);
            }
            Err(err.with_program(name))
        }
    }
}

/// The start of the kernel's `struct bpf_prog_info`.
#[repr(C)]
#[derive(Default, Clone, Copy)]
struct ProgInfoPrefix {
    kind: u32,
    id: u32,
    tag: [u8; 8],
}

/// Kernel id and tag (hex) of the program behind `fd`.
pub fn id_and_tag(fd: BorrowedFd<'_>) -> Option<(u32, String)> {
    let mut info = ProgInfoPrefix::default();
    sys::obj_info(fd, &mut info).ok()?;
    Some((info.id, info.tag.iter().map(|b| format!("{b:02x}")).collect()))
}

//! struct_ops maps (`BPF_MAP_TYPE_STRUCT_OPS`), as libbpf's `bpf_map__attach_struct_ops`
//! makes them: Aya 0.14 has none, so aya-node creates the map from what the object pre-pass
//! laid out (`object_fixup::struct_ops`), puts the programs' fds in, and registers it.
//!
//! Registering goes through a BPF link (`BPF_F_LINK` map + `BPF_LINK_CREATE`), for
//! `.struct_ops.link` variables as libbpf does, and for `.struct_ops` ones too by default:
//! the kernel then unregisters when the link's last fd closes, so a process that dies leaves
//! no algorithm behind (unless the link is pinned). `link: false` registers a `.struct_ops` map with a map update, as libbpf
//! does (and kernels before 6.4 need); that registration holds until deleted, which
//! `close()`, dispose and the object's finalizer do, but not the end of the process.

use std::{
    collections::HashMap,
    os::fd::{AsFd, AsRawFd, OwnedFd},
};

use aya::programs::ProgramError;
use napi::bindgen_prelude::Buffer;
use napi_derive::napi;

use crate::{
    error::{Code, NodeError, Result},
    link::{ErasedLink, Link},
    object::{lock, EbpfObject},
    object_fixup::StructOpsMap,
    sys,
};

const BPF_MAP_TYPE_STRUCT_OPS: u32 = 26;
const BPF_F_LINK: u32 = 1 << 13;
const KEY: [u8; 4] = 0u32.to_le_bytes();

#[napi(object)]
pub struct StructOpsDescriptor {
    /// The variable's name.
    pub name: String,
    /// `.struct_ops` or `.struct_ops.link`.
    pub section: String,
    /// The kernel struct it implements, e.g. `tcp_congestion_ops`.
    pub struct_name: String,
    /// The programs its members point to.
    pub programs: Vec<String>,
    /// Its data members (e.g. `name`, `flags`), which `register` may set.
    pub members: Vec<String>,
    /// Why it cannot be registered on this kernel, if it cannot.
    pub refused: Option<String>,
}

/// A registered struct_ops map; unregistered on detach and on drop.
struct Registration {
    map: Option<OwnedFd>,
    /// Present when registered through a BPF link.
    link: Option<OwnedFd>,
}

impl Registration {
    fn unregister(&mut self) -> std::result::Result<(), sys::BpfError> {
        if self.link.take().is_some() {
            // Closing the link unregisters, unless it is pinned (then the pin's removal does).
            self.map = None;
            return Ok(());
        }
        match self.map.take() {
            Some(map) => sys::map::delete(map.as_fd(), &KEY).map(|_| ()),
            None => Ok(()),
        }
    }
}

impl ErasedLink for Registration {
    fn detach(mut self: Box<Self>) -> std::result::Result<(), ProgramError> {
        self.unregister().map_err(|e| ProgramError::SyscallError(aya::sys::SyscallError { call: "bpf_map_delete_elem", io_error: e.io }))
    }

    fn bpf_link_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        self.link.as_ref().map(|fd| fd.as_fd())
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let _ = self.unregister();
    }
}

/// A BTF fd for map creation: the kernel wants one with a struct_ops value type, though the
/// value's type comes from the kernel's BTF.
fn placeholder_btf() -> Result<OwnedFd> {
    sys::btf_load(&crate::object_fixup::placeholder_btf()).map_err(|e| {
        let mut err = NodeError::from(e);
        err.message = format!("loading BTF for a struct_ops map: {}", err.message);
        err
    })
}

fn describe(spec: &StructOpsMap) -> StructOpsDescriptor {
    StructOpsDescriptor {
        name: spec.name.clone(),
        section: spec.section.clone(),
        struct_name: spec.struct_name.clone(),
        programs: spec.programs.iter().map(|(_, p)| p.clone()).collect(),
        members: spec.members.iter().map(|(m, _, _)| m.clone()).collect(),
        refused: spec.refused.clone(),
    }
}

/// `err` with `context` in front, and EEXIST (an algorithm of that name exists) as BUSY.
fn in_context(err: sys::BpfError, context: String) -> NodeError {
    let exists = err.errno() == libc::EEXIST;
    let mut err = NodeError::from(err);
    err.message = format!("{context}: {}", err.message);
    if exists {
        err.code = Code::Busy;
        err.message.push_str(" (one of the same name is registered already)");
    }
    err
}

#[napi]
impl EbpfObject {
    /// The object's struct_ops variables (`SEC(".struct_ops")`, `SEC(".struct_ops.link")`).
    #[napi]
    pub fn struct_ops_maps(&self) -> napi::Result<Vec<StructOpsDescriptor>> {
        let mut state = lock(&self.state);
        state.ebpf()?;
        let mut out: Vec<StructOpsDescriptor> = state.struct_ops.values().map(describe).collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Registers the struct_ops variable `name` with the kernel (loading the programs it points
    /// to first), through a BPF link unless `use_link` is false, with data members set from
    /// `members` (bytes, zero-padded to the member's size). The returned link unregisters.
    #[napi]
    pub fn register_struct_ops(&self, name: String, use_link: Option<bool>, members: Option<HashMap<String, Buffer>>) -> napi::Result<Link> {
        let registration = {
            let mut state = lock(&self.state);
            state.ebpf()?;
            let Some(spec) = state.struct_ops.get(&name).cloned() else {
                let mut known: Vec<&String> = state.struct_ops.keys().collect();
                known.sort();
                let known = if known.is_empty() { "none".to_string() } else { known.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ") };
                return Err(NodeError::new(Code::NotFound, format!("no struct_ops variable named `{name}` in the object (struct_ops variables: {known})")).into());
            };
            if let Some(why) = &spec.refused {
                return Err(NodeError::new(Code::Unsupported, format!("struct_ops map `{name}` cannot be registered: {why}")).into());
            }
            let link = use_link.unwrap_or(true);
            if !link && spec.section == ".struct_ops.link" {
                return Err(NodeError::new(Code::InvalidArgument, format!("struct_ops map `{name}` is in .struct_ops.link: it registers through a link only")).into());
            }
            let mut value = spec.value.clone();
            for (member, bytes) in members.iter().flatten() {
                set_member(&spec, &mut value, member, bytes)?;
            }
            for (at, program) in &spec.programs {
                let Some((hidden, ebpf)) = state.hidden_program(program)? else {
                    return Err(NodeError::new(Code::NotFound, format!("struct_ops map `{name}` points to `{program}`, which is not a struct_ops program of the object")).into());
                };
                let fd = crate::programs::syscall::ensure_loaded(hidden, ebpf, program)?.as_raw_fd();
                let slot = value.get_mut(*at..*at + 8).ok_or_else(|| NodeError::new(Code::Parse, format!("struct_ops map `{name}`: program slot out of range")))?;
                slot.copy_from_slice(&(fd as u64).to_le_bytes());
            }
            register(&spec, &value, link)?
        };
        Ok(self.link("struct_ops", Box::new(registration)))
    }

    /// Pins the BPF link of the struct_ops registration `link` at `path` (on bpffs): the map
    /// stays registered, after `close()` and the process too, until the pin is removed.
    #[napi]
    pub fn pin_struct_ops_link(&self, link: &Link, path: String) -> napi::Result<()> {
        let state = lock(&self.state);
        let entry = link
            .entry_in(&self.state)
            .and_then(|id| state.links.get(&id))
            .ok_or_else(|| NodeError::closed("the struct_ops registration"))?;
        let fd = entry.bpf_link_fd().ok_or_else(|| {
            NodeError::new(Code::InvalidArgument, "this struct_ops registration was made with a map update (link: false): it has no BPF link to pin")
        })?;
        Ok(sys::pin_fd(fd, &path)?)
    }
}

/// Sets data member `member` of `spec`'s `value` to `bytes`, zero-padded to its size.
fn set_member(spec: &StructOpsMap, value: &mut [u8], member: &str, bytes: &[u8]) -> Result<()> {
    let Some((_, at, size)) = spec.members.iter().find(|(m, _, _)| m == member) else {
        let known: Vec<&str> = spec.members.iter().map(|(m, _, _)| m.as_str()).collect();
        return Err(NodeError::new(
            Code::InvalidArgument,
            format!("struct_ops map `{}` has no data member `{member}` to set (it has: {})", spec.name, if known.is_empty() { "none".to_string() } else { known.join(", ") }),
        ));
    };
    if bytes.len() > *size {
        return Err(NodeError::new(Code::InvalidArgument, format!("members.{member}: {} bytes do not fit in the member's {size}", bytes.len())));
    }
    let slot = value.get_mut(*at..*at + *size).ok_or_else(|| NodeError::new(Code::Parse, format!("struct_ops map `{}`: member `{member}` out of range", spec.name)))?;
    slot.fill(0);
    slot[..bytes.len()].copy_from_slice(bytes);
    Ok(())
}

/// Creates the struct_ops map of `spec` with `value` (program fds in place) and registers it.
fn register(spec: &StructOpsMap, value: &[u8], link: bool) -> Result<Registration> {
    let btf = placeholder_btf()?;
    let mut create = sys::map::create_attr();
    create.map_type = BPF_MAP_TYPE_STRUCT_OPS;
    create.key_size = KEY.len() as u32;
    create.value_size = value.len() as u32;
    create.max_entries = 1;
    create.map_flags = if link { BPF_F_LINK } else { 0 };
    create.btf_fd = btf.as_raw_fd() as u32;
    create.btf_vmlinux_value_type_id = spec.value_type_id;
    for (slot, byte) in create.map_name.iter_mut().zip(spec.name.bytes().take(15)) {
        *slot = byte as _;
    }
    let what = format!("struct_ops map `{}` ({})", spec.name, spec.struct_name);
    let map = sys::map::create(&create).map_err(|e| in_context(e, format!("creating {what}")))?;
    sys::map::update(map.as_fd(), Some(&KEY), value, 0).map_err(|e| in_context(e, format!("filling in {what}")))?;
    // Registered from here on when made without a link: dropping this unregisters.
    let mut registration = Registration { map: Some(map), link: None };
    if link {
        let map = registration.map.as_ref().map(|m| m.as_fd()).ok_or_else(|| NodeError::closed("the struct_ops map"))?;
        let fd = sys::map::link_struct_ops(map).map_err(|e| in_context(e, format!("registering {what}")))?;
        registration.link = Some(fd);
    }
    Ok(registration)
}

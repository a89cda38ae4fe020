//! Introspection of what is loaded on the system (like `bpftool prog/map/link show`) and the
//! kernel's run-time statistics switch.

use std::os::fd::AsFd;

use napi_derive::napi;

use crate::{
    error::{AyaContext, NodeError},
    fd::ClosableFd,
    kinds, sys,
};

#[napi(object)]
pub struct LoadedProgram {
    pub id: u32,
    pub name: String,
    /// Kernel program type as bpftool names it, e.g. `xdp`, `socket_filter`, `tracepoint`.
    pub r#type: String,
    /// Hex tag (hash of the translated instructions).
    pub tag: String,
    pub map_ids: Vec<u32>,
    /// Bytes of locked memory.
    pub memlock: Option<f64>,
    /// Runs counted while statistics are enabled.
    pub run_count: f64,
    /// Nanoseconds spent running, counted while statistics are enabled.
    pub run_time_ns: f64,
    pub verified_instructions: Option<u32>,
    pub created_by_uid: Option<u32>,
    pub btf_id: Option<u32>,
}

#[napi(object)]
pub struct LoadedMap {
    pub id: u32,
    pub name: String,
    /// Kernel map type as bpftool names it, e.g. `hash`, `devmap_hash`, `ringbuf`.
    pub kind: String,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub flags: u32,
    pub memlock: Option<f64>,
}

#[napi(object)]
pub struct LoadedLink {
    pub id: u32,
    pub program_id: u32,
    pub kind: String,
}

fn program_entry(info: &aya::programs::ProgramInfo) -> LoadedProgram {
    LoadedProgram {
        id: info.id(),
        name: info.name_as_str().unwrap_or("").to_string(),
        r#type: kinds::program_type_name(info.program_type() as u32),
        tag: format!("{:016x}", info.tag()),
        map_ids: info.map_ids().ok().flatten().unwrap_or_default(),
        memlock: info.memory_locked().ok().map(f64::from),
        run_count: info.run_count() as f64,
        run_time_ns: info.run_time().as_nanos() as f64,
        verified_instructions: info.verified_instruction_count(),
        created_by_uid: info.created_by_uid(),
        btf_id: info.btf_id(),
    }
}

/// Every program loaded on the system. Programs unloaded while listing are skipped.
#[napi]
pub fn loaded_programs() -> napi::Result<Vec<LoadedProgram>> {
    let mut out = Vec::new();
    for info in aya::programs::loaded_programs() {
        match info {
            Ok(info) => out.push(program_entry(&info)),
            Err(e) if is_gone(&e) => {}
            Err(e) => return Err(NodeError::from_aya("listing loaded programs", &e).into()),
        }
    }
    Ok(out)
}

/// Every map on the system.
#[napi]
pub fn loaded_maps() -> napi::Result<Vec<LoadedMap>> {
    let mut out = Vec::new();
    for info in aya::maps::loaded_maps() {
        let info = match info {
            Ok(info) => info,
            Err(e) if is_gone(&e) => continue,
            Err(e) => return Err(NodeError::from_aya("listing loaded maps", &e).into()),
        };
        let memlock = info.fd().ok().and_then(|fd| sys::fdinfo_field(fd.as_fd(), "memlock")).map(|v| v as f64);
        out.push(LoadedMap {
            id: info.id(),
            name: info.name_as_str().unwrap_or("").to_string(),
            kind: info
                .fd()
                .ok()
                .and_then(|fd| sys::map::map_info(fd.as_fd()).ok())
                .map_or_else(|| "unknown".to_string(), |i| kinds::map_type_name(i.type_)),
            key_size: info.key_size(),
            value_size: info.value_size(),
            max_entries: info.max_entries(),
            flags: info.map_flags(),
            memlock,
        });
    }
    Ok(out)
}

const LINK_TYPES: [&str; 15] = [
    "unspec", "raw_tracepoint", "tracing", "cgroup", "iter", "netns", "xdp", "perf_event",
    "kprobe_multi", "struct_ops", "netfilter", "tcx", "uprobe_multi", "netkit", "sockmap",
];

/// Every link on the system.
#[napi]
pub fn loaded_links() -> napi::Result<Vec<LoadedLink>> {
    let mut out = Vec::new();
    for id in sys::link_ids()? {
        let Some(fd) = sys::link_fd_by_id(id)? else { continue };
        let info = sys::link_info(fd.as_fd()).map_err(NodeError::from)?;
        out.push(LoadedLink {
            id: info.id,
            program_id: info.prog_id,
            kind: LINK_TYPES.get(info.type_ as usize).map_or_else(|| format!("type {}", info.type_), |s| s.to_string()),
        });
    }
    Ok(out)
}

fn is_gone(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if let Some(sys) = e.downcast_ref::<aya::sys::SyscallError>() {
            if sys.io_error.raw_os_error() == Some(libc::ENOENT) {
                return true;
            }
        }
        cur = e.source();
    }
    false
}

/// While open, the kernel counts every program's runs and run time (`BPF_ENABLE_STATS`).
/// Closing it turns counting off again (once no one else holds it on).
#[napi]
pub struct StatsScope {
    fd: ClosableFd,
}

#[napi]
impl StatsScope {
    #[napi(factory)]
    pub fn enable() -> napi::Result<StatsScope> {
        let fd = aya::sys::enable_stats(aya::sys::Stats::RunTime).context(|| "enabling run-time statistics".to_string())?;
        Ok(StatsScope { fd: ClosableFd::new(fd) })
    }

    #[napi]
    pub fn close(&self) {
        self.fd.close();
    }

    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.fd.closed()
    }
}

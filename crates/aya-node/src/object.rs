//! A loaded eBPF object file: its maps are created at load, its programs are loaded into the
//! kernel on first use. Links made from its programs are kept here too, so closing the object
//! (or the finalizer dropping it) detaches everything it attached.

use std::{
    collections::HashMap,
    os::fd::AsFd,
    sync::{Arc, Mutex, MutexGuard},
};

use aya::{maps::Map, programs::Program, Ebpf, EbpfLoader, VerifierLogLevel};
use napi::bindgen_prelude::Buffer;
use napi_derive::napi;

use crate::{
    btf::kernel_btf,
    error::{AyaContext, Code, NodeError, Result},
    kinds::{map_data, map_type_name, program_kind, program_type},
    link::erased::ErasedLink,
    panic::{panic_message, quiet_panic_hook},
};

pub struct ObjectState {
    pub ebpf: Option<Ebpf>,
    pub links: HashMap<u32, Box<dyn ErasedLink>>,
    next_link: u32,
    /// Program name -> the ELF section it came from.
    pub sections: HashMap<String, String>,
    /// Programs of types Aya does not have (syscall, struct_ops), by name.
    pub hidden: HashMap<String, crate::programs::syscall::HiddenState>,
    /// The `.struct_ops*` variables (`maps::struct_ops` registers them), by name.
    pub struct_ops: HashMap<String, crate::object_fixup::StructOpsMap>,
    /// Kernel modules' BTF named by fd in the programs' instructions (module ksyms): open
    /// while the programs may still load.
    module_btf_fds: Vec<std::os::fd::OwnedFd>,
}

impl ObjectState {
    pub fn ebpf(&mut self) -> Result<&mut Ebpf> {
        self.ebpf.as_mut().ok_or_else(|| NodeError::closed("the eBPF object"))
    }

    pub fn program(&mut self, name: &str) -> Result<&mut Program> {
        self.ebpf()?
            .program_mut(name)
            .ok_or_else(|| NodeError::new(Code::NotFound, format!("no program named `{name}` in the object")))
    }

    /// Program `name` if it is one of the programs Aya does not load (see `object_fixup`),
    /// with the loaded object its maps live in.
    pub fn hidden_program(&mut self, name: &str) -> Result<Option<(&mut crate::programs::syscall::HiddenState, &Ebpf)>> {
        let ebpf = self.ebpf.as_ref().ok_or_else(|| NodeError::closed("the eBPF object"))?;
        Ok(self.hidden.get_mut(name).map(|hidden| (hidden, ebpf)))
    }

    pub fn take_map(&mut self, name: &str) -> Result<Map> {
        self.ebpf()?
            .take_map(name)
            .ok_or_else(|| NodeError::new(Code::NotFound, format!("no map named `{name}` in the object (or it was already taken)")))
    }

    pub fn add_link(&mut self, link: Box<dyn ErasedLink>) -> u32 {
        self.next_link += 1;
        self.links.insert(self.next_link, link);
        self.next_link
    }
}

pub type SharedState = Arc<Mutex<ObjectState>>;

pub fn lock(state: &SharedState) -> MutexGuard<'_, ObjectState> {
    // Nothing here panics while holding the lock, but never let poisoning become a panic.
    state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[napi(object)]
pub struct LoadOptions {
    /// Values for global variables (`static`s in `.rodata`/`.data`/`.bss`), as raw bytes.
    pub globals: Option<HashMap<String, Buffer>>,
    /// Overrides of `max_entries` by map name.
    pub max_entries: Option<HashMap<String, u32>>,
    /// Value sizes by map name (maps whose loader picks it, e.g. stack traces).
    pub value_size: Option<HashMap<String, u32>>,
    /// Key sizes by map name.
    pub key_size: Option<HashMap<String, u32>>,
    /// `map_flags` by map name.
    pub map_flags: Option<HashMap<String, u32>>,
    /// Where to find the kernel's BTF (default: /sys/kernel/btf/vmlinux).
    pub btf_path: Option<String>,
    /// Directory where maps that ask to be pinned are pinned (and reused from).
    pub map_pin_directory: Option<String>,
    /// 0 = only on failure, 1 = basic, 2 = verbose (every instruction).
    pub verifier_log_level: Option<u32>,
}

#[napi(object)]
pub struct ProgramDescriptor {
    pub name: String,
    /// How the program attaches, e.g. `tracepoint`, `xdp`, `uprobe`, `fentry`, `sched_cls`.
    pub kind: String,
    /// The kernel's program type, as bpftool names it, e.g. `kprobe` for a uprobe, `tracing`
    /// for fentry (what `loadedPrograms()` and `isProgramTypeSupported` say).
    pub r#type: String,
}

#[napi(object)]
pub struct MapDescriptor {
    pub name: String,
    /// The kernel's map type, as bpftool names it, e.g. `hash`, `devmap_hash`, `ringbuf`.
    pub kind: String,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
}

#[napi(object)]
pub struct ProgramDetails {
    pub name: String,
    pub kind: String,
    /// The kernel's program type (see `ProgramDescriptor`).
    pub r#type: String,
    pub loaded: bool,
    /// Kernel program id, once loaded.
    pub id: Option<u32>,
    /// The kernel's tag (hash of the instructions), hex, once loaded.
    pub tag: Option<String>,
    /// The ELF section the program came from, e.g. `tracepoint/syscalls/sys_enter_execve`.
    pub section: Option<String>,
}

#[napi]
pub struct EbpfObject {
    pub(crate) state: SharedState,
}

/// A loaded object and what the pre-pass kept from Aya.
type Loaded = (Ebpf, Vec<crate::object_fixup::HiddenProgram>, Vec<crate::object_fixup::StructOpsMap>, Vec<std::os::fd::OwnedFd>);

fn load_with(data: &[u8], options: Option<LoadOptions>) -> Result<Loaded> {
    let options = options.unwrap_or(LoadOptions {
        globals: None,
        max_entries: None,
        value_size: None,
        key_size: None,
        map_flags: None,
        btf_path: None,
        map_pin_directory: None,
        verifier_log_level: None,
    });
    // Aya (and the pre-pass) allocate what sections declare: an absurd size would abort the process.
    crate::sections::check_sizes(data)?;
    let prepared = fixup(data, &options)?;
    let data: &[u8] = &prepared.data;
    // A map larger than the machine would OOM it while the kernel tries (see maps::memory).
    crate::maps::memory::check_map_memory(data, options.max_entries.as_ref())?;
    let custom_btf = match &options.btf_path {
        Some(path) => Some(aya::Btf::parse_file(path, aya::Endianness::default()).context(|| format!("reading BTF from {path}"))?),
        None => None,
    };
    let mut loader = EbpfLoader::new();
    loader.btf(custom_btf.as_ref().or_else(|| kernel_btf().ok()));
    if let Some(globals) = &options.globals {
        for (name, value) in globals {
            loader.override_global(name.as_str(), value.as_ref(), true);
        }
    }
    if let Some(max) = &options.max_entries {
        for (name, size) in max {
            loader.map_max_entries(name.as_str(), *size);
        }
    }
    if let Some(dir) = &options.map_pin_directory {
        loader.default_map_pin_directory(dir);
    }
    loader.verifier_log_level(match options.verifier_log_level.unwrap_or(0) {
        0 => VerifierLogLevel::DEBUG | VerifierLogLevel::STATS,
        1 => VerifierLogLevel::DEBUG | VerifierLogLevel::STATS,
        _ => VerifierLogLevel::VERBOSE | VerifierLogLevel::STATS,
    });
    // Aya parses untrusted bytes; should any of it panic, the panic must not cross into Node.
    quiet_panic_hook();
    if options.map_pin_directory.is_none() {
        // Aya would pin these in /sys/fs/bpf/<NAME>, and reuse whatever is pinned there under
        // that name (another application's map). Pinning is opt-in: only with mapPinDirectory.
        let pinned = std::panic::catch_unwind(|| crate::sections::pinned_maps(data)).unwrap_or_default();
        if !pinned.is_empty() {
            return Err(NodeError::new(
                Code::InvalidArgument,
                format!(
                    "the object declares pinned maps ({}): pass mapPinDirectory, a directory in bpffs such as /sys/fs/bpf/myapp, to pin and share them there",
                    pinned.join(", ")
                ),
            ));
        }
    }
    // Aya probes kernel features once, by loading test programs, on the first load: a profiler's
    // timer signal there (EAGAIN) would make it conclude, for the whole process, that the kernel
    // lacks a feature such as global data. Held back as around every program load.
    let loaded = {
        let _held = crate::signals::TimerSignalsHeld::new();
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| loader.load(data)))
    };
    match loaded {
        Ok(result) => {
            let ebpf = result.context(|| "loading the eBPF object".to_string()).map_err(|mut e| {
                // libbpf-tools' stack maps leave value_size to the loader: say how to set it.
                if let Some(map) = prepared.unsized_maps.iter().find(|m| e.message.contains(&format!("map `{m}`"))) {
                    e.message.push_str(&format!(" (map `{map}` declares no value size: set it with the valueSize load option, as libbpf users call bpf_map__set_value_size)"));
                }
                e
            })?;
            Ok((ebpf, prepared.hidden, prepared.struct_ops, prepared.module_btf_fds))
        }
        Err(panic) => {
            // The panic's text is Aya's internals (slice indexes, todo!()s, source paths): the
            // user learns that the object is inconsistent, which is what it means.
            let _ = panic_message(&*panic);
            Err(NodeError::new(Code::Parse, "loading the eBPF object: the ELF is malformed (its sections, symbols or BTF are inconsistent)"))
        }
    }
}

/// Runs the pre-pass for what C objects need and Aya does not do (see `object_fixup`).
fn fixup<'d>(data: &'d [u8], options: &LoadOptions) -> Result<crate::object_fixup::Prepared<'d>> {
    let mut map_sizes: HashMap<String, crate::object_fixup::MapSizes> = HashMap::new();
    for (field, table) in [(0, &options.key_size), (1, &options.value_size), (2, &options.map_flags)] {
        for (name, value) in table.iter().flatten() {
            let entry = map_sizes.entry(name.clone()).or_default();
            match field {
                0 => entry.key_size = Some(*value),
                1 => entry.value_size = Some(*value),
                _ => entry.map_flags = Some(*value),
            }
        }
    }
    let request = crate::object_fixup::Request { btf_path: options.btf_path.as_deref(), map_sizes: map_sizes.into_iter().collect() };
    quiet_panic_hook();
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| crate::object_fixup::prepare(data, &request))) {
        Ok(result) => result,
        Err(panic) => {
            let _ = panic_message(&*panic);
            Err(NodeError::new(Code::Parse, "preparing the eBPF object: the ELF is malformed (its sections, symbols or BTF are inconsistent)"))
        }
    }
}

#[napi]
impl EbpfObject {
    /// Parses an ELF object from memory and creates its maps.
    #[napi(factory)]
    pub fn load(data: Buffer, options: Option<LoadOptions>) -> napi::Result<EbpfObject> {
        let sections = crate::sections::program_sections(&data);
        Ok(Self::wrap(load_with(&data, options)?, sections))
    }

    /// Reads an ELF object from a file and creates its maps.
    #[napi(factory)]
    pub fn load_file(path: String, options: Option<LoadOptions>) -> napi::Result<EbpfObject> {
        let data = std::fs::read(&path).map_err(|e| {
            let mut err = NodeError::syscall("open", e);
            err.code = if err.errno == Some(libc::ENOENT) { Code::NotFound } else { err.code };
            err.message = format!("reading {path}: {}", err.message);
            err
        })?;
        let sections = crate::sections::program_sections(&data);
        Ok(Self::wrap(load_with(&data, options)?, sections))
    }

    fn wrap((ebpf, hidden, struct_ops, module_btf_fds): Loaded, sections: HashMap<String, String>) -> EbpfObject {
        let hidden = hidden
            .into_iter()
            .map(|program| (program.name.clone(), crate::programs::syscall::HiddenState { program, fd: None }))
            .collect();
        EbpfObject {
            state: Arc::new(Mutex::new(ObjectState {
                ebpf: Some(ebpf),
                links: HashMap::new(),
                next_link: 0,
                sections,
                hidden,
                struct_ops: struct_ops.into_iter().map(|m| (m.name.clone(), m)).collect(),
                module_btf_fds,
            })),
        }
    }

    #[napi]
    pub fn programs(&self) -> napi::Result<Vec<ProgramDescriptor>> {
        let mut state = lock(&self.state);
        let mut out: Vec<ProgramDescriptor> = Vec::new();
        for (name, program) in state.ebpf.iter().flat_map(|e| e.programs()) {
            out.push(ProgramDescriptor {
                name: name.to_string(),
                kind: kind_of(&state.sections, name, program).to_string(),
                r#type: program_type(program),
            });
        }
        state.ebpf()?;
        out.extend(state.hidden.values().map(|h| ProgramDescriptor {
            name: h.program.name.clone(),
            kind: h.program.kind.to_string(),
            r#type: h.program.kind.to_string(),
        }));
        Ok(out)
    }

    #[napi]
    pub fn maps(&self) -> napi::Result<Vec<MapDescriptor>> {
        let mut state = lock(&self.state);
        let mut out = Vec::new();
        for (name, map) in state.ebpf()?.maps() {
            let info = crate::sys::map::map_info(map_data(map).fd().as_fd()).map_err(|e| {
                let mut err = NodeError::from(e);
                err.message = format!("reading info of map `{name}`: {}", err.message);
                err
            })?;
            out.push(MapDescriptor {
                name: name.to_string(),
                kind: map_type_name(info.type_),
                key_size: info.key_size,
                value_size: info.value_size,
                max_entries: info.max_entries,
            });
        }
        Ok(out)
    }

    #[napi]
    pub fn program_details(&self, name: String) -> napi::Result<ProgramDetails> {
        let mut state = lock(&self.state);
        if let Some(hidden) = state.hidden.get(&name) {
            let info = hidden.fd.as_ref().and_then(|fd| crate::programs::syscall::id_and_tag(fd.as_fd()));
            return Ok(ProgramDetails {
                section: Some(hidden.program.section.clone()),
                kind: hidden.program.kind.to_string(),
                r#type: hidden.program.kind.to_string(),
                name,
                loaded: hidden.fd.is_some(),
                id: info.as_ref().map(|i| i.0),
                tag: info.as_ref().map(|i| i.1.clone()),
            });
        }
        let sections = state.sections.clone();
        let program = state.program(&name)?;
        let info = program.info().ok();
        let kind = kind_of(&sections, &name, program).to_string();
        let r#type = program_type(program);
        Ok(ProgramDetails {
            r#type,
            section: state.sections.get(&name).cloned(),
            name,
            kind,
            loaded: info.is_some(),
            id: info.as_ref().map(|i| i.id()),
            tag: info.as_ref().map(|i| format!("{:016x}", i.tag())),
        })
    }

    /// Detaches every link, unloads every program and closes every map still owned by the object.
    #[napi]
    pub fn close(&self) {
        let mut state = lock(&self.state);
        for (_, link) in state.links.drain() {
            let _ = link.detach();
        }
        state.hidden.clear();
        state.ebpf = None;
        state.module_btf_fds.clear();
    }

    /// `close`, with the slow part off the JavaScript thread: the object is closed at once (every
    /// later call is `CLOSED`), and its links are detached and its programs and maps released on
    /// a libuv worker, where the kernel's waits (an RCU grace period per perf-event tracepoint
    /// detach, 50-70 ms each here) do not stall the event loop. The promise settles once all of
    /// it is released; the pending work keeps the process alive until then.
    #[napi]
    pub fn close_async(&self) -> napi::bindgen_prelude::AsyncTask<Release> {
        let mut state = lock(&self.state);
        napi::bindgen_prelude::AsyncTask::new(Release {
            links: state.links.drain().map(|(_, link)| link).collect(),
            hidden: std::mem::take(&mut state.hidden),
            ebpf: state.ebpf.take(),
        })
    }

    #[napi(getter)]
    pub fn closed(&self) -> bool {
        lock(&self.state).ebpf.is_none()
    }
}

/// What `close_async` releases on a worker thread: everything the object owned in the kernel.
pub struct Release {
    links: Vec<Box<dyn ErasedLink>>,
    hidden: HashMap<String, crate::programs::syscall::HiddenState>,
    ebpf: Option<Ebpf>,
}

impl Release {
    /// Detaches, then closes: links first, so no program is unloaded while still attached.
    fn release(&mut self) {
        for link in self.links.drain(..) {
            let _ = link.detach();
        }
        self.hidden.clear();
        self.ebpf = None;
    }
}

impl napi::Task for Release {
    type Output = ();
    type JsValue = ();

    fn compute(&mut self) -> napi::Result<()> {
        // A panic must not cross into libuv. Unwinding drops what was not released yet (Aya's
        // links detach on drop), so the object is released either way, as `close` ignores
        // detach errors too.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.release()));
        Ok(())
    }

    fn resolve(&mut self, _env: napi::Env, _output: ()) -> napi::Result<()> {
        Ok(())
    }
}

/// A program's kind as the TypeScript layer knows it: Aya's, except for libbpf `usdt`
/// programs, which Aya loads as uprobes but which need libbpf's USDT spec maps to attach.
fn kind_of(sections: &HashMap<String, String>, name: &str, program: &Program) -> &'static str {
    match sections.get(name) {
        Some(section) if section == "usdt" || section.starts_with("usdt/") => "usdt",
        _ => program_kind(program),
    }
}

//! perf_event programs: run on each sample of a perf event (a software clock, a hardware
//! counter overflowing, ...), per CPU or per process.

use aya::programs::{
    perf_event::{PerfEventConfig, PerfEventScope, SamplePolicy},
    Program,
};
use napi_derive::napi;

use crate::{
    error::{AyaContext, Code, NodeError},
    link::{ErasedLink, Link},
    object::{lock, EbpfObject},
    link::many::ManyLinks,
    programs::attach::typed,
};

#[napi(object)]
pub struct PerfEventTarget {
    /// perf_event_attr.type: 0 hardware, 1 software, or a PMU's type from
    /// /sys/bus/event_source/devices/<pmu>/type.
    pub event_type: u32,
    /// perf_event_attr.config: the event within the type (e.g. 0 = cpu-clock for software).
    pub config: u32,
    /// Sample every `period` events ...
    pub sample_period: Option<u32>,
    /// ... or this many times a second.
    pub sample_frequency: Option<u32>,
    /// Only this process (0 = the calling process); every process when absent.
    pub pid: Option<u32>,
    /// Only this CPU; every online CPU when absent (one perf event per CPU).
    pub cpu: Option<u32>,
    /// Also count in child tasks created after attaching (per-process events only).
    pub inherit: Option<bool>,
}

#[napi]
impl EbpfObject {
    /// Loads the perf_event program `program` (if not loaded yet), opens the perf event(s) and
    /// attaches the program to each; the returned link owns them all.
    #[napi]
    pub fn attach_perf_event(&self, program: String, target: PerfEventTarget) -> napi::Result<Link> {
        let policy = match (target.sample_period, target.sample_frequency) {
            (Some(period), None) if period > 0 => SamplePolicy::Period(u64::from(period)),
            (None, Some(freq)) if freq > 0 => SamplePolicy::Frequency(u64::from(freq)),
            _ => {
                return Err(NodeError::new(
                    Code::InvalidArgument,
                    "a perf event needs exactly one of a positive sample period or sample frequency",
                )
                .into())
            }
        };
        let scopes: Vec<PerfEventScope> = match (target.pid, target.cpu) {
            (Some(0), cpu) => vec![PerfEventScope::CallingProcess { cpu }],
            (Some(pid), cpu) => vec![PerfEventScope::OneProcess { pid, cpu }],
            (None, Some(cpu)) => vec![PerfEventScope::AllProcessesOneCpu { cpu }],
            (None, None) => aya::util::online_cpus()
                .map_err(|(path, e)| {
                    let mut err = NodeError::syscall("read", e);
                    err.message = format!("reading {path}: {}", err.message);
                    err
                })?
                .into_iter()
                .map(|cpu| PerfEventScope::AllProcessesOneCpu { cpu })
                .collect(),
        };
        let config = PerfEventConfig::Pmu { pmu_type: target.event_type, config: u64::from(target.config) };
        let inherit = target.inherit.unwrap_or(false);
        let links = {
            let mut state = lock(&self.state);
            let prog = typed(&mut state, &program, "perf_event", |p| match p {
                Program::PerfEvent(p) => Some(p),
                _ => None,
            })?;
            if prog.fd().is_err() {
                prog.load().context(|| format!("loading program `{program}`"))?;
            }
            let mut links: Vec<Box<dyn ErasedLink>> = Vec::with_capacity(scopes.len());
            for scope in scopes {
                let attached = prog
                    .attach(config, scope, policy, inherit)
                    .context(|| format!("attaching `{program}` to perf event {}:{} ({scope:?})", target.event_type, target.config))
                    .and_then(|id| prog.take_link(id).context(|| format!("taking the link of `{program}`")));
                match attached {
                    Ok(link) => links.push(Box::new(link)),
                    Err(e) => {
                        // Nothing stays half-attached: undo the CPUs already done.
                        let _ = Box::new(ManyLinks(links)).detach();
                        return Err(e.into());
                    }
                }
            }
            links
        };
        Ok(self.link("perf_event", Box::new(ManyLinks(links))))
    }
}

//! Raw tracepoints (`raw_tp/<name>`): the tracepoint's raw arguments, without the perf buffer copy.

use aya::programs::Program;
use napi_derive::napi;

use crate::{
    error::AyaContext,
    link::Link,
    object::{lock, EbpfObject},
    programs::support::typed,
};

#[napi]
impl EbpfObject {
    /// Loads the raw tracepoint program `program` (if not loaded yet) and attaches it to the
    /// tracepoint `name`, e.g. `sys_enter`.
    #[napi]
    pub fn attach_raw_trace_point(&self, program: String, name: String) -> napi::Result<Link> {
        let link = {
            let mut state = lock(&self.state);
            let prog = typed(&mut state, &program, "raw_tracepoint", |p| match p {
                Program::RawTracePoint(p) => Some(p),
                _ => None,
            })?;
            if prog.fd().is_err() {
                prog.load().context(|| format!("loading program `{program}`"))?;
            }
            let id = prog.attach(&name).context(|| format!("attaching `{program}` to raw tracepoint {name}"))?;
            prog.take_link(id).context(|| format!("taking the link of `{program}`"))?
        };
        Ok(self.link("raw_tracepoint", Box::new(link)))
    }
}

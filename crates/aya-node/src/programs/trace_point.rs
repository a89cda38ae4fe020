//! Tracepoints (`/sys/kernel/tracing/events/<category>/<name>`).

use aya::programs::{Program, TracePoint};
use napi_derive::napi;

use crate::{
    error::AyaContext,
    link::{wrong_type, Link},
    object::{lock, program_kind, EbpfObject},
};

#[napi]
impl EbpfObject {
    /// Loads the tracepoint program `program` (if not loaded yet) and attaches it to
    /// `category/name`.
    #[napi]
    pub fn attach_trace_point(&self, program: String, category: String, name: String) -> napi::Result<Link> {
        let link = {
            let mut state = lock(&self.state);
            let prog: &mut TracePoint = match state.program(&program)? {
                Program::TracePoint(p) => p,
                other => return Err(wrong_type(&program, "tracepoint", program_kind(other)).into()),
            };
            if prog.fd().is_err() {
                prog.load().context(|| format!("loading program `{program}`"))?;
            }
            let id = prog
                .attach(&category, &name)
                .context(|| format!("attaching `{program}` to tracepoint {category}/{name}"))?;
            prog.take_link(id).context(|| format!("taking the link of `{program}`"))?
        };
        Ok(self.link("tracepoint", Box::new(link)))
    }
}

//! Raw tracepoints (`raw_tp/<name>`): the tracepoint's raw arguments, without the perf buffer copy.

use napi_derive::napi;

use crate::{
    error::AyaContext,
    link::Link,
    object::EbpfObject,
    programs::attach::load_and_attach,
};

#[napi]
impl EbpfObject {
    /// Loads the raw tracepoint program `program` (if not loaded yet) and attaches it to the
    /// tracepoint `name`, e.g. `sys_enter`.
    #[napi]
    pub fn attach_raw_trace_point(&self, program: String, name: String) -> napi::Result<Link> {
        let link = load_and_attach!(self, program, RawTracePoint, "raw_tracepoint", |prog| prog
            .attach(&name)
            .context(|| format!("attaching `{program}` to raw tracepoint {name}"))?);
        Ok(self.link("raw_tracepoint", Box::new(link)))
    }
}

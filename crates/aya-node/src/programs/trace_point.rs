//! Tracepoints (`/sys/kernel/tracing/events/<category>/<name>`).

use napi_derive::napi;

use crate::{
    error::AyaContext,
    link::Link,
    object::EbpfObject,
    programs::attach::load_and_attach,
};

#[napi]
impl EbpfObject {
    /// Loads the tracepoint program `program` (if not loaded yet) and attaches it to
    /// `category/name`.
    #[napi]
    pub fn attach_trace_point(&self, program: String, category: String, name: String) -> napi::Result<Link> {
        let link = load_and_attach!(self, program, TracePoint, "tracepoint", |prog| prog
            .attach(&category, &name)
            .context(|| format!("attaching `{program}` to tracepoint {category}/{name}"))?);
        Ok(self.link("tracepoint", Box::new(link)))
    }
}

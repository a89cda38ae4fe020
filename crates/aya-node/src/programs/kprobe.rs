//! kprobes and kretprobes: dynamic probes on (almost) any kernel function. They need a kernel
//! built with CONFIG_KPROBES; without it the attach is an UNSUPPORTED error saying so.

use aya::programs::Program;
use napi_derive::napi;

use crate::{
    error::{AyaContext, Code, NodeError},
    link::Link,
    object::{lock, EbpfObject},
    probe::kprobes_unsupported,
    programs::attach::typed,
};

#[napi]
impl EbpfObject {
    /// Loads the kprobe/kretprobe program `program` (if not loaded yet) and attaches it to the
    /// kernel function `function`, `offset` bytes in (kprobes only).
    #[napi]
    pub fn attach_kprobe(&self, program: String, target_function: String, offset: Option<u32>) -> napi::Result<Link> {
        let link = {
            let mut state = lock(&self.state);
            let prog = typed(&mut state, &program, "kprobe", |p| match p {
                Program::KProbe(p) => Some(p),
                _ => None,
            })?;
            if let Some(why) = kprobes_unsupported() {
                return Err(NodeError::new(Code::Unsupported, format!("attaching `{program}` to {target_function}: {why}")).into());
            }
            if prog.fd().is_err() {
                prog.load().context(|| format!("loading program `{program}`"))?;
            }
            let id = prog
                .attach(&target_function, u64::from(offset.unwrap_or(0)))
                .context(|| format!("attaching `{program}` to kernel function {target_function}"))?;
            prog.take_link(id).context(|| format!("taking the link of `{program}`"))?
        };
        Ok(self.link("kprobe", Box::new(link)))
    }

    /// Why kprobes cannot be attached on this kernel, or null when they can.
    #[napi]
    pub fn kprobes_unsupported_reason() -> Option<String> {
        kprobes_unsupported().map(str::to_string)
    }
}

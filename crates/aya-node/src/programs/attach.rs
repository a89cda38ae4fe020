//! The steps every `attach_…` method shares: picking a program of the wanted type (else a
//! WRONG_TYPE error naming its real kind), loading it on first use and taking its link. Aya's
//! program types share no trait for these, hence macros over the `Program` variants.

use aya::programs::Program;

use crate::{
    error::{NodeError, Result},
    kinds::program_kind,
    object::ObjectState,
};

/// The program `name` as the variant `pick` selects, or a WRONG_TYPE error naming its real kind.
pub fn typed<'a, P>(
    state: &'a mut ObjectState,
    name: &str,
    wanted: &str,
    pick: impl FnOnce(&mut Program) -> Option<&mut P>,
) -> Result<&'a mut P> {
    let program = state.program(name)?;
    let actual = program_kind(program);
    pick(program).ok_or_else(|| wrong_type(name, wanted, actual))
}

/// Builds the error for a program whose kind is not the one the caller asked for.
pub fn wrong_type(program: &str, wanted: &str, actual: &str) -> NodeError {
    NodeError::new(
        crate::error::Code::WrongType,
        format!("program `{program}` is a {actual} program, not a {wanted} program"),
    )
}

/// The body of `attach_…` for the program types loaded against one BTF target (tp_btf,
/// fentry, fexit, LSM): each has `load(target, btf)`, `attach()` and `take_link`, but Aya gives
/// them no common trait, hence a macro. `$what` names the target in messages.
macro_rules! attach_btf_targeted {
    ($object:expr, $program:expr, $target:expr, $variant:ident, $kind:literal, $what:literal) => {{
        use $crate::error::AyaContext as _;
        let (program, target): (&str, &str) = (&$program, &$target);
        let btf = $crate::btf::kernel_btf()?;
        let link = {
            let mut state = $crate::object::lock(&$object.state);
            let prog = $crate::programs::attach::typed(&mut state, program, $kind, |p| match p {
                aya::programs::Program::$variant(p) => Some(p),
                _ => None,
            })?;
            if prog.fd().is_err() {
                prog.load(target, btf)
                    .context(|| format!("loading program `{program}` for {} {target}", $what))
                    .map_err(|e| $crate::btf::btf_target_error(e, $what, target))?;
            }
            let id = prog.attach().context(|| format!("attaching `{program}` to {} {target}", $what))?;
            prog.take_link(id).context(|| format!("taking the link of `{program}`"))?
        };
        Ok($object.link($kind, Box::new(link)))
    }};
}
pub(crate) use attach_btf_targeted;

/// The steps every `attach_…` method shares: take program `$program` as a
/// `Program::$variant` (else WRONG_TYPE naming `$kind`), load it on first use, run `$attach`
/// (an expression over `$prog` giving the link id, its errors already in context) and take
/// the link out of Aya's program. Evaluates to that link. Aya's program types share no trait
/// for this, hence a macro.
macro_rules! load_and_attach {
    ($object:expr, $program:expr, $variant:ident, $kind:literal, |$prog:ident| $attach:expr) => {{
        let program: &str = &$program;
        let mut state = $crate::object::lock(&$object.state);
        let $prog = $crate::programs::attach::typed(&mut state, program, $kind, |p| match p {
            aya::programs::Program::$variant(p) => Some(p),
            _ => None,
        })?;
        if $prog.fd().is_err() {
            $crate::error::AyaContext::context($prog.load(), || format!("loading program `{program}`"))?;
        }
        let id = $attach;
        $crate::error::AyaContext::context($prog.take_link(id), || format!("taking the link of `{program}`"))?
    }};
}
pub(crate) use load_and_attach;

/// The body of `attach_…` for the program types attached to a cgroup v2 directory with an
/// attach mode alone (cgroup_device, cgroup_sock, cgroup_sock_addr, cgroup_sockopt,
/// cgroup_sysctl, sock_ops).
macro_rules! attach_to_cgroup {
    ($object:expr, $program:expr, $cgroup:expr, $mode:expr, $variant:ident, $kind:literal) => {{
        use $crate::error::AyaContext as _;
        let (program, cgroup): (&str, &str) = (&$program, &$cgroup);
        let mode = $crate::programs::target::cgroup_attach_mode($mode)?;
        let cgroup_dir = $crate::programs::target::open_cgroup(cgroup)?;
        let link = $crate::programs::attach::load_and_attach!($object, program, $variant, $kind, |prog| prog
            .attach(&cgroup_dir, mode)
            .context(|| format!("attaching `{program}` to cgroup {cgroup}"))?);
        Ok($object.link($kind, Box::new(link)))
    }};
}
pub(crate) use attach_to_cgroup;

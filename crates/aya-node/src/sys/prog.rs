//! The bpf() commands on programs that aya-node issues itself: test runs, loading the tiny
//! programs feature probes need, and attachment queries.

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

pub use aya_obj::generated::{bpf_attach_type, bpf_prog_type, BPF_F_TEST_RUN_ON_CPU};

use super::{bpf, bpf_cmd, owned_fd, zeroed_attr, SysResult};

/// One test run's inputs. Output buffers are filled up to their length.
#[derive(Default)]
pub struct TestRunInput<'a> {
    pub data_in: &'a [u8],
    pub data_out: Option<&'a mut [u8]>,
    pub ctx_in: &'a [u8],
    pub ctx_out: Option<&'a mut [u8]>,
    /// How many times to run (0 and 1 both mean once).
    pub repeat: u32,
    pub flags: u32,
    pub cpu: u32,
    pub batch_size: u32,
}

/// One test run's outcome.
#[derive(Debug, Clone, Copy)]
pub struct TestRunOutput {
    pub return_value: u32,
    /// Average run time per repetition, in nanoseconds (as the kernel measures it).
    pub duration_ns: u32,
    /// Bytes of packet data the program left (may exceed `data_out`'s length).
    pub data_size_out: u32,
    pub ctx_size_out: u32,
}

/// A buffer as the kernel takes it: address and length, or null and 0 when empty. (Output
/// buffers pass their `as_mut_ptr`, as the kernel writes there.)
fn buffer(addr: u64, len: usize) -> (u64, u32) {
    if len == 0 {
        (0, 0)
    } else {
        (addr, len as u32)
    }
}

/// `BPF_PROG_TEST_RUN`: runs the program behind `fd` once (or `repeat` times). Slices longer
/// than `u32::MAX` must be refused by the caller.
pub fn test_run(fd: BorrowedFd<'_>, input: TestRunInput<'_>) -> SysResult<TestRunOutput> {
    let mut attr = zeroed_attr();
    // SAFETY: writing plain integers into the member this command uses.
    let test = unsafe { &mut attr.test };
    test.prog_fd = fd.as_raw_fd() as u32;
    test.repeat = input.repeat;
    test.flags = input.flags;
    test.cpu = input.cpu;
    test.batch_size = input.batch_size;
    (test.data_in, test.data_size_in) = buffer(input.data_in.as_ptr() as u64, input.data_in.len());
    (test.data_out, test.data_size_out) = input.data_out.map_or((0, 0), |out| buffer(out.as_mut_ptr() as u64, out.len()));
    (test.ctx_in, test.ctx_size_in) = buffer(input.ctx_in.as_ptr() as u64, input.ctx_in.len());
    (test.ctx_out, test.ctx_size_out) = input.ctx_out.map_or((0, 0), |out| buffer(out.as_mut_ptr() as u64, out.len()));
    // SAFETY: every pointer in `attr` borrows a slice that outlives the call, with its length.
    unsafe { bpf(bpf_cmd::BPF_PROG_TEST_RUN, &mut attr) }?;
    // SAFETY: the member the kernel filled in.
    let test = unsafe { &attr.test };
    Ok(TestRunOutput {
        return_value: test.retval,
        duration_ns: test.duration,
        data_size_out: test.data_size_out,
        ctx_size_out: test.ctx_size_out,
    })
}

/// `BPF_PROG_LOAD` of raw instructions under the GPL license, for feature probes; the
/// verifier's log goes to `log` when it is not empty.
pub fn load_raw(prog_type: u32, insns: &[u64], log: &mut [u8]) -> SysResult<OwnedFd> {
    // SAFETY: u64 words viewed as their bytes (same memory, alignment of u8 is 1).
    let bytes = unsafe { std::slice::from_raw_parts(insns.as_ptr().cast::<u8>(), std::mem::size_of_val(insns)) };
    let spec = LoadSpec { prog_type, insns: bytes, license: c"GPL", name: "", flags: 0, expected_attach_type: 0, attach_btf_id: 0 };
    load(&spec, log)
}

/// What `load` needs beyond the instructions: for programs aya-node loads itself (syscall and
/// struct_ops programs, which Aya 0.14 has no type for).
pub struct LoadSpec<'a> {
    pub prog_type: u32,
    pub insns: &'a [u8],
    pub license: &'a std::ffi::CStr,
    pub name: &'a str,
    pub flags: u32,
    pub expected_attach_type: u32,
    pub attach_btf_id: u32,
}

/// `BPF_PROG_LOAD` of `spec`; the verifier's log goes to `log` when it is not empty.
pub fn load(spec: &LoadSpec<'_>, log: &mut [u8]) -> SysResult<OwnedFd> {
    let mut attr = zeroed_attr();
    // SAFETY: writing plain integers into the member this command uses.
    let load = unsafe { &mut attr.__bindgen_anon_3 };
    load.prog_type = spec.prog_type;
    load.insn_cnt = (spec.insns.len() / 8) as u32;
    load.insns = spec.insns.as_ptr() as u64;
    load.license = spec.license.as_ptr() as u64;
    load.prog_flags = spec.flags;
    load.expected_attach_type = spec.expected_attach_type;
    load.attach_btf_id = spec.attach_btf_id;
    for (slot, byte) in load.prog_name.iter_mut().zip(spec.name.bytes().take(15)) {
        *slot = byte as _;
    }
    if !log.is_empty() {
        load.log_level = 1;
        load.log_size = log.len() as u32;
        load.log_buf = log.as_mut_ptr() as u64;
    }
    // SAFETY: the instructions, license and log buffers outlive the call.
    let fd = unsafe { bpf(bpf_cmd::BPF_PROG_LOAD, &mut attr) }?;
    Ok(owned_fd(fd))
}

/// `BPF_PROG_QUERY` of what is attached at `attach_type` of interface `ifindex`, asking for no
/// ids: succeeds where the kernel knows that attach point.
pub fn query_attached(ifindex: u32, attach_type: bpf_attach_type) -> SysResult<()> {
    let mut attr = zeroed_attr();
    // SAFETY: writing plain integers into the member this command uses.
    let query = unsafe { &mut attr.query };
    query.__bindgen_anon_1.target_ifindex = ifindex;
    query.attach_type = attach_type as u32;
    // SAFETY: no pointers are passed (no id buffers).
    unsafe { bpf(bpf_cmd::BPF_PROG_QUERY, &mut attr) }.map(|_| ())
}

/// `BPF_LINK_CREATE` of program `prog` on the perf event `event` (a kprobe, uprobe or
/// tracepoint event) with a BPF cookie the program reads back (`bpf_get_attach_cookie`).
pub fn link_perf_event(prog: BorrowedFd<'_>, event: BorrowedFd<'_>, cookie: u64) -> SysResult<OwnedFd> {
    let mut attr = zeroed_attr();
    // SAFETY: writing plain integers into the member this command uses.
    let link = unsafe { &mut attr.link_create };
    link.__bindgen_anon_1.prog_fd = prog.as_raw_fd() as u32;
    link.__bindgen_anon_2.target_fd = event.as_raw_fd() as u32;
    link.attach_type = bpf_attach_type::BPF_PERF_EVENT as u32;
    link.__bindgen_anon_3.perf_event.bpf_cookie = cookie;
    // SAFETY: no pointers in these attributes.
    let fd = unsafe { bpf(bpf_cmd::BPF_LINK_CREATE, &mut attr) }?;
    Ok(owned_fd(fd))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::fake::with_kernel;

    #[test]
    fn a_test_run_passes_its_buffers_and_reads_the_results_back() {
        let data = [1u8, 2, 3];
        let mut out = [0u8; 16];
        let out_addr = out.as_mut_ptr() as u64;
        // SAFETY: fd 0 stays open for the whole test process; the fake never uses it.
        let fd = unsafe { BorrowedFd::borrow_raw(0) };
        let result = with_kernel(
            move |cmd, attr| {
                assert_eq!(cmd, bpf_cmd::BPF_PROG_TEST_RUN);
                // SAFETY: the member test runs use.
                let test = unsafe { &mut attr.test };
                assert_eq!((test.data_size_in, test.data_size_out, test.repeat), (3, 16, 5));
                assert_eq!(test.data_out, out_addr);
                assert_eq!((test.ctx_in, test.ctx_size_in, test.ctx_out), (0, 0, 0), "no context: null");
                (test.retval, test.duration, test.data_size_out) = (2, 40, 3);
                Ok(0)
            },
            || test_run(fd, TestRunInput { data_in: &data, data_out: Some(&mut out), repeat: 5, ..Default::default() }),
        )
        .unwrap();
        assert_eq!((result.return_value, result.duration_ns, result.data_size_out), (2, 40, 3));
    }
}

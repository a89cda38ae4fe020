//! Attaching programs. One file per program type; each adds `attach…` methods to `EbpfObject`.
//! What they share: `attach` (the common steps, as macros) and `target` (cgroups, network
//! namespaces and interfaces they attach to).

pub mod attach;
pub mod target;

pub mod trace_point;
pub mod raw_trace_point;
pub mod btf_trace_point;
pub mod fentry;
pub mod fexit;
pub mod lsm;
pub mod kprobe;
pub mod uprobe;
pub mod usdt;
pub mod perf_event;
pub mod xdp;
pub mod tc;
pub mod tc_filter;
pub mod socket_filter;
pub mod cgroup_skb;
pub mod cgroup_sock_addr;
pub mod load;
pub mod test_run;

pub mod sock_map_target;
pub mod sk_msg;
pub mod sk_skb;
pub mod sock_ops;
pub mod cgroup_sysctl;
pub mod cgroup_device;
pub mod cgroup_sock;
pub mod cgroup_sockopt;
pub mod sk_lookup;
pub mod flow_dissector;
pub mod iter;
pub mod syscall;

//! Netlink TC filters (cls_bpf on a clsact qdisc) found and removed by what they run: a filter
//! is ours only while the kernel says it carries our program id. Aya's own netlink detach
//! deletes whatever sits at the priority and handle, which may by then be another tool's
//! replacement; both our detach and the TC watcher (`src/programs/tc-watcher.ts`, which cleans
//! up after a process that ended without `close()`) go through `remove_if_program` instead.

use std::{
    io,
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
};

use napi_derive::napi;

use crate::{
    error::{Code, NodeError},
    programs::target::{in_netns, open_netns},
};

const NLMSG_HDR_LEN: usize = 16;
const TCMSG_LEN: usize = 20;
/// rtattr types of a filter message (linux/rtnetlink.h) and of cls_bpf's options (linux/pkt_cls.h).
const TCA_KIND: u16 = 1;
const TCA_OPTIONS: u16 = 2;
const TCA_BPF_ID: u16 = 11;
/// The nested/byte-order flags the kernel may set on an attribute type.
const NLA_TYPE_MASK: u16 = 0x3fff;
/// A dump of one qdisc's filters is a few messages; this bounds a malformed or endless answer.
const MAX_DUMP_MESSAGES: usize = 100_000;

/// One TC filter (where it hangs) and the program it was made to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FilterAt {
    pub ifindex: u32,
    /// The clsact parent: 0xFFFFFFF2 for ingress, 0xFFFFFFF3 for egress.
    pub parent: u32,
    pub priority: u16,
    pub handle: u32,
}

/// Where a netlink TC attachment put its filter, for the TC watcher that removes it when the
/// process ends without `close()` (see `src/programs/tc-watcher.ts`).
#[napi(object)]
#[derive(Clone)]
pub struct TcFilter {
    pub ifindex: u32,
    /// The clsact parent: 0xFFFFFFF2 ingress, 0xFFFFFFF3 egress.
    pub parent: u32,
    pub priority: u32,
    pub handle: u32,
    pub program_id: u32,
    /// The inode of the network namespace it was attached in, when the caller named one.
    pub netns_inode: Option<f64>,
}

/// What a filter dump says about one filter.
#[derive(Debug, PartialEq, Eq)]
struct DumpedFilter {
    priority: u16,
    /// The filter's protocol as the kernel stores it (network byte order), needed to delete it.
    protocol: u16,
    handle: u32,
    bpf: bool,
    program_id: Option<u32>,
}

/// The clsact parent of a direction (TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS/EGRESS)).
pub fn clsact_parent(ingress: bool) -> u32 {
    if ingress { 0xFFFF_FFF2 } else { 0xFFFF_FFF3 }
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

fn message(kind: u16, flags: u16, seq: u32, tcm: [u32; 4], attrs: &[(u16, &[u8])]) -> Vec<u8> {
    let mut buf = vec![0u8; NLMSG_HDR_LEN + TCMSG_LEN];
    // tcmsg: family (AF_UNSPEC) and padding stay zero; then ifindex, handle, parent, info.
    for (i, value) in tcm.iter().enumerate() {
        let at = NLMSG_HDR_LEN + 4 + 4 * i;
        buf[at..at + 4].copy_from_slice(&value.to_ne_bytes());
    }
    for (kind, data) in attrs {
        let len = 4 + data.len();
        buf.extend_from_slice(&(len as u16).to_ne_bytes());
        buf.extend_from_slice(&kind.to_ne_bytes());
        buf.extend_from_slice(data);
        buf.resize(align4(buf.len()), 0);
    }
    let total = buf.len() as u32;
    buf[0..4].copy_from_slice(&total.to_ne_bytes());
    buf[4..6].copy_from_slice(&kind.to_ne_bytes());
    buf[6..8].copy_from_slice(&flags.to_ne_bytes());
    buf[8..12].copy_from_slice(&seq.to_ne_bytes());
    buf
}

fn dump_request(seq: u32, ifindex: u32, parent: u32) -> Vec<u8> {
    let flags = (libc::NLM_F_REQUEST | libc::NLM_F_DUMP) as u16;
    message(libc::RTM_GETTFILTER, flags, seq, [ifindex, 0, parent, 0], &[])
}

fn delete_request(seq: u32, at: FilterAt, protocol: u16) -> Vec<u8> {
    let flags = (libc::NLM_F_REQUEST | libc::NLM_F_ACK) as u16;
    // tcm_info: the priority in the upper half, the protocol in the lower (TC_H_MAKE).
    let info = (u32::from(at.priority) << 16) | u32::from(protocol);
    message(libc::RTM_DELTFILTER, flags, seq, [at.ifindex, at.handle, at.parent, info], &[(TCA_KIND, b"bpf\0")])
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The attributes in `b`, as (type, payload); stops at the first malformed one.
fn attrs(b: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let mut at = 0;
    std::iter::from_fn(move || {
        let len = usize::from(u16_at(b, at)?);
        let kind = u16_at(b, at + 2)? & NLA_TYPE_MASK;
        let data = b.get(at + 4..at + len.max(4))?;
        at += align4(len.max(4));
        Some((kind, data))
    })
}

/// The filter described by the payload of an RTM_NEWTFILTER message (tcmsg + attributes).
fn parse_filter(payload: &[u8]) -> Option<DumpedFilter> {
    let handle = u32_at(payload, 8)?;
    let info = u32_at(payload, 16)?;
    let mut filter = DumpedFilter { priority: (info >> 16) as u16, protocol: info as u16, handle, bpf: false, program_id: None };
    for (kind, data) in attrs(payload.get(TCMSG_LEN..)?) {
        match kind {
            TCA_KIND => filter.bpf = data.split(|&c| c == 0).next() == Some(b"bpf"),
            TCA_OPTIONS => {
                filter.program_id = attrs(data).find(|(k, _)| *k == TCA_BPF_ID).and_then(|(_, id)| u32_at(id, 0));
            }
            _ => {}
        }
    }
    Some(filter)
}

/// What one datagram of a netlink answer holds.
#[derive(Debug, PartialEq, Eq)]
enum Reply {
    Filters(Vec<DumpedFilter>),
    /// The end of a dump, or the kernel's acknowledgement (errno 0) or error.
    Done(i32),
}

fn parse_reply(buf: &[u8], seq: u32) -> io::Result<Reply> {
    let malformed = || io::Error::new(io::ErrorKind::InvalidData, "malformed netlink reply");
    let mut filters = Vec::new();
    let mut at = 0;
    while at + NLMSG_HDR_LEN <= buf.len() {
        let len = u32_at(buf, at).ok_or_else(malformed)? as usize;
        let kind = u16_at(buf, at + 4).ok_or_else(malformed)?;
        if len < NLMSG_HDR_LEN || at + len > buf.len() {
            return Err(malformed());
        }
        let payload = &buf[at + NLMSG_HDR_LEN..at + len];
        if u32_at(buf, at + 8) == Some(seq) {
            match i32::from(kind) {
                libc::NLMSG_DONE | libc::NLMSG_ERROR => {
                    let errno = u32_at(payload, 0).map(|e| e as i32).ok_or_else(malformed)?;
                    return Ok(Reply::Done(-errno));
                }
                _ if kind == libc::RTM_NEWTFILTER => filters.extend(parse_filter(payload)),
                _ => {}
            }
        }
        at += align4(len);
    }
    Ok(Reply::Filters(filters))
}

/// A NETLINK_ROUTE socket that gives up on a silent kernel after a few seconds.
struct Route {
    fd: OwnedFd,
    seq: u32,
}

impl Route {
    fn open() -> io::Result<Self> {
        // SAFETY: plain socket(2); the fd is owned at once.
        let raw = unsafe { libc::socket(libc::AF_NETLINK, libc::SOCK_RAW | libc::SOCK_CLOEXEC, libc::NETLINK_ROUTE) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: raw is a new fd nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let timeout = libc::timeval { tv_sec: 5, tv_usec: 0 };
        // SAFETY: a timeval of the size given.
        let set = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&raw const timeout).cast(),
                std::mem::size_of::<libc::timeval>() as libc::socklen_t,
            )
        };
        if set != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Self { fd, seq: std::process::id() })
    }

    fn send(&mut self, build: impl FnOnce(u32) -> Vec<u8>) -> io::Result<u32> {
        self.seq = self.seq.wrapping_add(1);
        let msg = build(self.seq);
        // SAFETY: an all-zero sockaddr_nl addresses the kernel.
        let mut to: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        to.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        // SAFETY: msg and `to` outlive the call; lengths match.
        let sent = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                msg.as_ptr().cast(),
                msg.len(),
                0,
                (&raw const to).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if sent < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(self.seq)
    }

    fn receive(&self, buf: &mut [u8], seq: u32) -> io::Result<Reply> {
        loop {
            // SAFETY: buf is writable for its length.
            let n = unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n < 0 {
                let err = io::Error::last_os_error();
                if err.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(err);
            }
            return parse_reply(&buf[..n as usize], seq);
        }
    }

    /// The filters on `parent` of `ifindex` (none when the interface or qdisc is gone).
    fn filters(&mut self, ifindex: u32, parent: u32) -> io::Result<Vec<DumpedFilter>> {
        let seq = self.send(|seq| dump_request(seq, ifindex, parent))?;
        let mut buf = vec![0u8; 64 * 1024];
        let mut all = Vec::new();
        for _ in 0..MAX_DUMP_MESSAGES {
            match self.receive(&mut buf, seq)? {
                Reply::Filters(filters) => all.extend(filters),
                Reply::Done(0) => return Ok(all),
                Reply::Done(errno) => return Err(io::Error::from_raw_os_error(errno)),
            }
        }
        Err(io::Error::new(io::ErrorKind::InvalidData, "endless netlink filter dump"))
    }

    fn delete(&mut self, at: FilterAt, protocol: u16) -> io::Result<()> {
        let seq = self.send(|seq| delete_request(seq, at, protocol))?;
        let mut buf = vec![0u8; 8 * 1024];
        loop {
            match self.receive(&mut buf, seq)? {
                Reply::Filters(_) => continue,
                Reply::Done(0) => return Ok(()),
                Reply::Done(errno) => return Err(io::Error::from_raw_os_error(errno)),
            }
        }
    }
}

/// Removes the filter at `at` if it still runs `program_id`, in the calling thread's network
/// namespace; returns whether it did. A filter that is gone, or that runs another program (a
/// replacement by another tool), is left alone. Between the look and the removal another tool
/// could still swap the filter: netlink has no conditional delete.
pub fn remove_if_program(at: FilterAt, program_id: u32) -> io::Result<bool> {
    let mut route = Route::open()?;
    let ours = route
        .filters(at.ifindex, at.parent)?
        .into_iter()
        .find(|f| f.priority == at.priority && f.handle == at.handle && f.bpf && f.program_id == Some(program_id));
    let Some(filter) = ours else { return Ok(false) };
    match route.delete(at, filter.protocol) {
        Ok(()) => Ok(true),
        // Removed meanwhile (the interface went, or someone else deleted it).
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENODEV)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Removes the netlink TC filter at `priority`/`handle` on `parent` of interface `ifindex`
/// (inside the network namespace at `netns`, when given) if it still runs the program with id
/// `programId`. Returns whether it removed it. The TC watcher's one native call.
#[napi]
pub fn tc_filter_remove(
    netns: Option<String>,
    ifindex: u32,
    parent: u32,
    priority: u32,
    handle: u32,
    program_id: u32,
) -> napi::Result<bool> {
    let priority = u16::try_from(priority)
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| NodeError::new(Code::InvalidArgument, format!("priority: expected 1-65535, got {priority}")))?;
    if handle == 0 {
        // Handle 0 would address every filter of the priority.
        return Err(NodeError::new(Code::InvalidArgument, "handle: expected a filter's handle, got 0").into());
    }
    let netns = netns.as_deref().map(open_netns).transpose()?;
    let at = FilterAt { ifindex, parent, priority, handle };
    Ok(in_netns(netns.as_ref(), || {
        remove_if_program(at, program_id).map_err(|e| {
            let mut err = NodeError::syscall("netlink", e);
            err.message = format!("removing TC filter {priority}:{handle:#x} of interface {ifindex}: {}", err.message);
            err
        })
    })?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(kind: u16, data: &[u8]) -> Vec<u8> {
        let mut out = ((4 + data.len()) as u16).to_ne_bytes().to_vec();
        out.extend_from_slice(&kind.to_ne_bytes());
        out.extend_from_slice(data);
        out.resize(align4(out.len()), 0);
        out
    }

    /// An RTM_NEWTFILTER message as the kernel dumps one cls_bpf filter.
    fn dumped(seq: u32, info: u32, handle: u32, kind: &[u8], id: Option<u32>) -> Vec<u8> {
        let mut payload = vec![0u8; TCMSG_LEN];
        payload[8..12].copy_from_slice(&handle.to_ne_bytes());
        payload[16..20].copy_from_slice(&info.to_ne_bytes());
        payload.extend(attr(TCA_KIND, kind));
        if let Some(id) = id {
            let mut options = attr(TCA_BPF_ID, &id.to_ne_bytes());
            options.extend(attr(7, b"tc_drop_udp\0"));
            // The kernel marks TCA_OPTIONS nested.
            payload.extend(attr(TCA_OPTIONS | 0x8000, &options));
        }
        let mut msg = ((NLMSG_HDR_LEN + payload.len()) as u32).to_ne_bytes().to_vec();
        msg.extend_from_slice(&libc::RTM_NEWTFILTER.to_ne_bytes());
        msg.extend_from_slice(&2u16.to_ne_bytes());
        msg.extend_from_slice(&seq.to_ne_bytes());
        msg.extend_from_slice(&0u32.to_ne_bytes());
        msg.extend(payload);
        msg
    }

    #[test]
    fn parses_a_dump_with_the_per_priority_entry_and_filters() {
        let proto = (libc::ETH_P_ALL as u16).to_be();
        let info = (49152u32 << 16) | u32::from(proto);
        let mut buf = dumped(7, info, 0, b"bpf\0", None);
        buf.extend(dumped(7, info, 1, b"bpf\0", Some(42)));
        buf.extend(dumped(7, info, 2, b"u32\0", None));
        buf.extend(dumped(8, info, 3, b"bpf\0", Some(43))); // another request's: ignored
        let Reply::Filters(filters) = parse_reply(&buf, 7).unwrap() else { panic!("not filters") };
        assert_eq!(filters.len(), 3);
        assert_eq!(filters[1], DumpedFilter { priority: 49152, protocol: proto, handle: 1, bpf: true, program_id: Some(42) });
        assert_eq!(filters[0].program_id, None);
        assert!(!filters[2].bpf);
    }

    #[test]
    fn done_and_errors_end_a_reply_and_truncation_is_malformed() {
        let mut done = (20u32).to_ne_bytes().to_vec();
        done.extend_from_slice(&(libc::NLMSG_ERROR as u16).to_ne_bytes());
        done.extend_from_slice(&0u16.to_ne_bytes());
        done.extend_from_slice(&5u32.to_ne_bytes());
        done.extend_from_slice(&0u32.to_ne_bytes());
        done.extend_from_slice(&(-libc::ENOENT).to_ne_bytes());
        assert_eq!(parse_reply(&done, 5).unwrap(), Reply::Done(libc::ENOENT));
        let filter = dumped(5, 1 << 16, 1, b"bpf\0", Some(1));
        assert!(parse_reply(&filter[..filter.len() - 4], 5).is_err());
        // A length that points past the end of an attribute list stops the walk, no panic.
        assert_eq!(attrs(&[200, 0, 1, 0, 1, 2]).count(), 0);
    }

    #[test]
    fn a_delete_names_priority_protocol_handle_and_kind() {
        let at = FilterAt { ifindex: 3, parent: clsact_parent(false), priority: 49152, handle: 1 };
        let msg = delete_request(9, at, 0x0300);
        assert_eq!(u32_at(&msg, 0), Some(msg.len() as u32));
        assert_eq!(u16_at(&msg, 4), Some(libc::RTM_DELTFILTER));
        assert_eq!(u32_at(&msg, 8), Some(9));
        assert_eq!(u32_at(&msg, NLMSG_HDR_LEN + 4), Some(3));
        assert_eq!(u32_at(&msg, NLMSG_HDR_LEN + 8), Some(1));
        assert_eq!(u32_at(&msg, NLMSG_HDR_LEN + 12), Some(0xFFFF_FFF3));
        assert_eq!(u32_at(&msg, NLMSG_HDR_LEN + 16), Some((49152 << 16) | 0x0300));
        assert_eq!(attrs(&msg[NLMSG_HDR_LEN + TCMSG_LEN..]).collect::<Vec<_>>(), vec![(TCA_KIND, &b"bpf\0"[..])]);
    }
}

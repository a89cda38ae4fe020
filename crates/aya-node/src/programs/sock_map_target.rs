//! What sk_msg and sk_skb programs share: the socket map (`sockmap` or `sockhash`) they attach
//! to, taken from a map handle that TypeScript passes.

use aya::maps::{sock::SockMapFd, MapData, MapFd};

use crate::{
    error::{AyaContext, Code, NodeError, Result},
    maps::handle::{borrow, MapHandle},
};

const BPF_MAP_TYPE_SOCKMAP: u32 = 15;
const BPF_MAP_TYPE_SOCKHASH: u32 = 18;

/// A socket map to attach a program to, holding its own duplicate of the map's fd.
pub struct SockMapTarget {
    map: MapData,
    /// The map's kernel name, for messages.
    pub name: String,
}

impl SockMapTarget {
    /// The socket map behind `handle`; any other kind of map is a WRONG_TYPE error naming it.
    pub fn new(handle: &MapHandle, program: &str) -> Result<Self> {
        let map_type = handle.map_type();
        if map_type != BPF_MAP_TYPE_SOCKMAP && map_type != BPF_MAP_TYPE_SOCKHASH {
            return Err(NodeError::new(
                Code::WrongType,
                format!(
                    "`{program}` attaches to a sockmap or sockhash map; map `{}` is of type {map_type}",
                    handle.name()
                ),
            ));
        }
        let guard = handle.fd()?;
        let fd = borrow(&guard)?.try_clone_to_owned().map_err(|e| NodeError::syscall("fcntl(F_DUPFD_CLOEXEC)", e))?;
        let map = MapData::from_fd(fd).context(|| format!("opening map `{}`", handle.name()))?;
        Ok(Self { map, name: handle.name() })
    }

    /// The map's fd as Aya's sk_msg/sk_skb `attach` takes it. Aya builds a `SockMapFd` only from
    /// its typed `SockMap`/`SockHash`, which insist on 4-byte values (maps made from TypeScript
    /// have 8-byte ones, which the kernel accepts too).
    pub fn fd(&self) -> &SockMapFd {
        let fd: &MapFd = self.map.fd();
        debug_assert_eq!(std::mem::size_of::<MapFd>(), std::mem::size_of::<SockMapFd>());
        // SAFETY: `SockMapFd` is `#[repr(transparent)]` over `MapFd` (the cast Aya's own
        // `SockMap::fd` makes), so the reference points at a valid `SockMapFd`.
        unsafe { &*(fd as *const MapFd).cast::<SockMapFd>() }
    }
}

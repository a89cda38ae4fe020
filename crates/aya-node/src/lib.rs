//! aya-node's native core: an N-API module over Aya.
//!
//! The TypeScript layer in `src/` is the public API; what this crate exports is internal and
//! kept small: handles to loaded objects, programs, links and maps, plus raw byte access.
//! Every failure leaves through [`error::NodeError`], never through a panic.
//!
//! Rooms, from the bottom up (a module only uses the ones above it in this list):
//! - `error`, `panic`: how failures and caught panics become JavaScript errors;
//! - `fd`: an owned fd JavaScript may close early (map handles, pins, the stats switch);
//! - `demangle`: readable C++ and Rust symbol names (for the profile tools' stacks);
//! - `sys`: the raw `bpf()` commands aya-node issues itself (map commands in `sys::map`);
//! - `kinds`: the name of every program and map kind;
//! - `btf`: the kernel's BTF;
//! - `object`: a loaded object (`EbpfObject`) and its registry of links;
//! - `link`: the `Link` handle and the link types the registry holds;
//! - `programs`: one file per program type, each adding `attach…` methods to `EbpfObject`;
//! - `maps`: map handles, one file per map family;
//! - `streams`: kernel event sources read in batches (ring and perf buffers, logs, trace pipe);
//! - `pin`, `info`, `probe`, `sections`: pinning, system-wide listings, feature probes, ELF
//!   section names.
//!
//! Benchmark hooks (`bench…` methods) exist only with the cargo feature `bench`, so the shipped
//! module and its `index.d.ts` have none.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// Unit tests may unwrap; and without the N-API registration (absent under `cfg(test)`) most
// exported items look unused there.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code))]

mod btf;
mod demangle;
mod error;
mod fd;
mod info;
mod kinds;
mod link;
mod maps;
mod object;
mod object_fixup;
mod panic;
mod pin;
mod probe;
mod programs;
mod sections;
mod signals;
mod streams;
mod sys;

//! aya-node's native core: an N-API module over Aya.
//!
//! The TypeScript layer in `src/` is the public API; what this crate exports is internal and
//! kept small: handles to loaded objects, programs, links and maps, plus raw byte access.
//! Every failure leaves through [`error::NodeError`], never through a panic.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod btf;
mod error;
mod link;
mod logs;
mod maps;
mod object;
mod object_fixup;
mod programs;
mod stream;
mod stream_bench;
mod trace_pipe;
mod info;
mod pin;
mod probe;
mod sys;
mod sections;

//! Attaching programs. One file per program type; each adds `attach…` methods to `EbpfObject`.

pub mod trace_point;
pub mod load;
pub mod test_run;

//! A link made of several links (e.g. one perf event per CPU).

use aya::programs::ProgramError;

use super::erased::ErasedLink;

/// Several links that attach and detach together (e.g. one perf event per CPU).
pub struct ManyLinks(pub Vec<Box<dyn ErasedLink>>);

impl ErasedLink for ManyLinks {
    fn detach(self: Box<Self>) -> std::result::Result<(), ProgramError> {
        let mut first_error = None;
        for link in self.0 {
            if let Err(e) = link.detach() {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

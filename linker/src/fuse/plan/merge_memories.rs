//! Step of the plan, **merge memories** (`--merge-memories`): every memory
//! of the fused module becomes one, each at a fixed base, where that keeps
//! every access, trap and result as it was.
//!
//! The rules (anything else is refused, with the reason):
//! - no memory is imported (its size belongs to the host), shared,
//!   64-bit or of a custom page size;
//! - at most one memory is exported, and at most one grows ([`merge_layout`]
//!   places them: the exported one at address 0, the one that grows last);
//!   every other memory keeps its initial size, and its accesses are
//!   checked against it ([`weld_format::merge_ops`]);
//! - every active data segment has a constant offset and fits its memory
//!   (otherwise instantiation would have trapped, and no longer would);
//! - the bases and the last memory's minimum fit in 4 GiB.
//!
//! Cost: one pass over memories and segments, and [`merge_layout`]'s.
//!
//! [`merge_layout`]: super::merge_layout

use wasmparser::{DataKind, ExternalKind, MemoryType, Operator, TypeRef};
use weld_format::rewrite::Place;
use weld_format::Item;

use super::coalesce_data::offset;
use super::merge_layout::{place, Merged, Sized};
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
    pub places: Vec<Place>,
    /// The merged memory.
    pub ty: wasm_encoder::MemoryType,
}

const IMPORTED: &str = "an imported memory cannot be merged (its size and contents belong to the host)";

/// A memory of the output, for messages: its input and index there.
fn label(cx: &FuseCx<'_, '_>, plan: &Plan<'_>, j: usize) -> (String, Item) {
    let (k, d) = plan.memories[j];
    let m = cx.modules[k.as_usize()];
    (
        cx.files[k.as_usize()].to_string(),
        Item::Part(format!("memory {}", m.imported.memories + d)),
    )
}

/// The merged layout of `plan`'s memories, or `None` when there are fewer
/// than two (nothing to merge). `opts`: the plan's options (what stays exported).
pub fn merge_memories(
    cx: &FuseCx<'_, '_>,
    plan: &Plan<'_>,
    opts: &super::PlanOptions,
) -> Result<Option<MergedLayout>, FuseError> {
    let n_imported = plan.n_imports[weld_format::Space::Memory] as usize;
    let total = n_imported + plan.memories.len();
    if total < 2 {
        return Ok(None);
    }
    let label = |j: usize| label(cx, plan, j);
    let what = Merged {
        noun: "memory",
        option: "--merge-memories",
        grow_op: "memory.grow",
        kind: ExternalKind::Memory,
        label: &label,
        map: |m| m.memories.iter().map(|x| x.as_usize()).collect(),
        grows: |op, maps| match op {
            Operator::MemoryGrow { mem } => maps.memories.get(*mem as usize).map(|o| o.as_usize()),
            _ => None,
        },
    };
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
                    return Err(what.refuse(cx.files[k].to_string(), Item::import(imp), IMPORTED));
                }
            }
        }
        return Err(what.refuse(
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
        let (input, item) = label(j);
        return Err(what.refuse(input, item, format!("the memory {why}")));
    }

    let items: Vec<Sized> = types
        .iter()
        .map(|t| Sized {
            initial: t.initial.saturating_mul(PAGE),
            maximum: t.maximum.map(|m| m.saturating_mul(PAGE)),
        })
        .collect();
    let (places, last, base) = place(cx, plan, &what, &items, opts)?;
    if base > MAX_PAGES * PAGE {
        let (input, item) = label(last);
        return Err(what.refuse(
            input,
            item,
            format!(
                "the memories' initial sizes add up to {} pages, past the 65536 of a 32-bit memory",
                base / PAGE
            ),
        ));
    }
    let sizes: Vec<u64> = items.iter().map(|i| i.initial).collect();
    data_fits(cx, plan, &what, &sizes)?;
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

/// Every active data segment has a constant offset and fits its memory's
/// initial size.
fn data_fits(
    cx: &FuseCx<'_, '_>,
    plan: &Plan<'_>,
    what: &Merged<'_>,
    sizes: &[u64],
) -> Result<(), FuseError> {
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
                return Err(what.refuse(
                    cx.files[k].to_string(),
                    item(),
                    "the segment's offset is not a constant, so it cannot be moved",
                ));
            };
            // (The last memory too: moved by its base, an offset past it
            // could wrap around 32 bits into another memory.)
            let bytes = sizes[out.as_usize()];
            if at.saturating_add(d.data.len() as u64) > bytes {
                return Err(what.refuse(
                    cx.files[k].to_string(),
                    item(),
                    format!("the segment ends past its memory's {bytes} bytes (instantiation would trap)"),
                ));
            }
        }
    }
    Ok(())
}

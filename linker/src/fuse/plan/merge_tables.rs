//! Step of the plan, **merge tables** (`--merge-tables`): every table of
//! the fused module becomes one, each at a fixed base, where that keeps
//! every call, access, trap and result as it was; the tables' counterpart
//! of [`merge_memories`](super::merge_memories).
//!
//! The rules (anything else is refused, with the reason):
//! - no table is imported (its contents belong to the host), 64-bit or
//!   shared, or has an initial value expression (one value could not stand
//!   for several);
//! - every table has the same element type, `funcref` or `externref`;
//! - at most one table is exported, and at most one grows
//!   ([`merge_layout`](super::merge_layout) places them); every other
//!   table keeps its initial size, and its indices are checked against it
//!   ([`weld_format::merge_table_ops`]);
//! - every active element segment has a constant offset and fits its
//!   table;
//! - the merged table's size stays within the validator's limit.
//!
//! Cost: one pass over tables and segments, and `merge_layout`'s.

use wasmparser::{ElementItems, ElementKind, ExternalKind, Operator, TableInit, TypeRef};
use weld_format::rewrite::Place;
use weld_format::Item;

use super::coalesce_data::offset;
use super::merge_layout::{place, Merged, Sized};
use super::Plan;
use crate::error::FuseError;
use crate::fuse::context::FuseCx;

/// The validator's limit on a table's elements (wasmparser's
/// `MAX_WASM_TABLE_ENTRIES`).
const MAX_ELEMENTS: u64 = 10_000_000;

/// Where every table of the fused module lives once merged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergedTableLayout {
    /// Per output table (before merging): its base and bound.
    pub places: Vec<Place>,
    /// The merged table.
    pub ty: wasm_encoder::TableType,
    /// Its element type, as the rewriter declares scratch locals.
    pub element: wasmparser::RefType,
}

/// The merged layout of `plan`'s tables, or `None` when there are fewer
/// than two. `opts`: the plan's options (what stays exported).
pub fn merge_tables(
    cx: &FuseCx<'_, '_>,
    plan: &Plan<'_>,
    opts: &super::PlanOptions,
) -> Result<Option<MergedTableLayout>, FuseError> {
    let n_imported = plan.n_imports[weld_format::Space::Table] as usize;
    if n_imported + plan.tables.len() < 2 {
        return Ok(None);
    }
    let label = |j: usize| {
        let (k, d) = plan.tables[j];
        let m = cx.modules[k.as_usize()];
        (
            cx.files[k.as_usize()].to_string(),
            Item::Part(format!("table {}", m.imported.tables + d)),
        )
    };
    let what = Merged {
        noun: "table",
        option: "--merge-tables",
        grow_op: "table.grow",
        kind: ExternalKind::Table,
        label: &label,
        map: |m| m.tables.iter().map(|x| x.as_usize()).collect(),
        grows: |op, maps| match op {
            Operator::TableGrow { table } => maps.tables.get(*table as usize).map(|o| o.as_usize()),
            _ => None,
        },
    };
    if n_imported > 0 {
        for (k, m) in cx.modules.iter().enumerate() {
            let tables = m.imports.iter().filter(|i| matches!(i.ty, TypeRef::Table(_)));
            for (i, imp) in tables.enumerate() {
                if plan.maps[k]
                    .tables
                    .get(i)
                    .is_some_and(|o| o.as_usize() < n_imported)
                {
                    return Err(what.refuse(cx.files[k].to_string(), Item::import(imp), IMPORTED));
                }
            }
        }
        return Err(what.refuse(
            "the fused module".into(),
            Item::Part("imported table".into()),
            IMPORTED,
        ));
    }
    let tables: Vec<&wasmparser::Table<'_>> = plan
        .tables
        .iter()
        .map(|&(k, d)| &cx.modules[k.as_usize()].tables[d as usize])
        .collect();
    let element = tables[0].ty.element_type;
    for (j, t) in tables.iter().enumerate() {
        let why = if t.ty.table64 {
            "is 64-bit".to_string()
        } else if t.ty.shared {
            "is shared".to_string()
        } else if matches!(t.init, TableInit::Expr(_)) {
            "has an initial value expression".to_string()
        } else if t.ty.element_type.type_index().is_some() {
            "has a typed element type".to_string()
        } else if t.ty.element_type != element {
            let (input, item) = label(0);
            format!(
                "holds {}, and {input} {item} holds {}",
                name(t.ty.element_type),
                name(element)
            )
        } else {
            continue;
        };
        let (input, item) = label(j);
        return Err(what.refuse(input, item, format!("the table {why}")));
    }
    let items: Vec<Sized> = tables
        .iter()
        .map(|t| Sized {
            initial: t.ty.initial,
            maximum: t.ty.maximum,
        })
        .collect();
    let (places, last, total) = place(cx, plan, &what, &items, opts)?;
    if total > MAX_ELEMENTS {
        let (input, item) = label(last);
        return Err(what.refuse(
            input,
            item,
            format!("the tables' initial sizes add up to {total} elements, past the limit of {MAX_ELEMENTS}"),
        ));
    }
    let sizes: Vec<u64> = items.iter().map(|i| i.initial).collect();
    elements_fit(cx, plan, &what, &sizes)?;
    let base = places[last].base;
    let ty = wasm_encoder::TableType {
        element_type: wasm_encoder::RefType {
            nullable: element.is_nullable(),
            heap_type: match element.heap_type() {
                wasmparser::HeapType::Abstract { shared, ty } => wasm_encoder::HeapType::Abstract {
                    shared,
                    ty: match ty {
                        wasmparser::AbstractHeapType::Extern => wasm_encoder::AbstractHeapType::Extern,
                        _ => wasm_encoder::AbstractHeapType::Func,
                    },
                },
                _ => wasm_encoder::HeapType::FUNC,
            },
        },
        table64: false,
        minimum: total,
        maximum: tables[last].ty.maximum.map(|m| (base + m).min(u32::MAX as u64)),
        shared: false,
    };
    Ok(Some(MergedTableLayout { places, ty, element }))
}

const IMPORTED: &str = "an imported table cannot be merged (its contents belong to the host)";

/// A reference type in WAT.
fn name(t: wasmparser::RefType) -> String {
    weld_format::wat::Wat(t).to_string()
}

/// Every active element segment has a constant offset and fits its table.
fn elements_fit(
    cx: &FuseCx<'_, '_>,
    plan: &Plan<'_>,
    what: &Merged<'_>,
    sizes: &[u64],
) -> Result<(), FuseError> {
    for (k, m) in cx.modules.iter().enumerate() {
        for (i, e) in m.elements.iter().enumerate() {
            let ElementKind::Active {
                table_index,
                offset_expr,
            } = &e.kind
            else {
                continue;
            };
            let item = || Item::Part(format!("elem {i}"));
            let Some(out) = plan.maps[k].tables.get(table_index.unwrap_or(0) as usize) else {
                continue;
            };
            let Some(at) = offset(cx, plan, k, offset_expr) else {
                return Err(what.refuse(
                    cx.files[k].to_string(),
                    item(),
                    "the segment's offset is not a constant, so it cannot be moved",
                ));
            };
            let n = match &e.items {
                ElementItems::Functions(r) => r.count(),
                ElementItems::Expressions(_, r) => r.count(),
            } as u64;
            // (The last table too: an offset past it could wrap around.)
            let size = sizes[out.as_usize()];
            if at.saturating_add(n) > size {
                return Err(what.refuse(
                    cx.files[k].to_string(),
                    item(),
                    format!("the segment ends past its table's {size} elements (instantiation would trap)"),
                ));
            }
        }
    }
    Ok(())
}

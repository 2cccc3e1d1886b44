//! Stage 5, **plan**, the driver: surveys + links + instantiation order →
//! [`Plan`], one call per step. [`Plan::build`] lays out every index space
//! and links the imports; [`Plan::finish`], once identical code folding
//! has fixed the function indices, places the start function and the
//! exports.
//!
//! Invariants between the steps: after [`layout::types`] every input has
//! its type map; after [`layout::definitions`] every item that takes a
//! place of its own has one; after [`imports::link`] every input's maps
//! are complete in the spaces imports add to; after [`layout::segments`]
//! and [`coalesce`] in the segment spaces too. Cost: O(items), with one
//! hash lookup per import or export (each step's doc has its own).

use weld_format::InputId;

use super::coalesce::coalesce;
use super::coalesce_data::coalesce_data;
use super::{exports, imports, layout, memory_order, start};
use super::{OnConflict, Plan, PlanOptions, SpaceMaps};
use crate::error::FuseError;
use crate::fuse::context::FuseCx;

/// [`Plan::build`] for the per-stage benches (`weld_linker::stages`), which
/// hold the run's pieces apart.
#[cfg(feature = "stages")]
pub fn plan<'a>(
    files: &[&str],
    names: &[&str],
    modules: &[&weld_format::survey::ModuleSurvey<'a>],
    links: &crate::resolve::Resolution,
    order: Vec<InputId>,
) -> Result<Plan<'a>, FuseError> {
    let cx = FuseCx {
        files,
        names,
        modules,
        links,
        dylink: false,
    };
    Plan::build(&cx, order)
}

impl<'a> Plan<'a> {
    /// Builds the plan of every index space; `order` is the instantiation order
    /// from the graph. Function indices are final only after folding
    /// ([`crate::fuse::icf::fold`]); [`Plan::finish`] then places the start
    /// function and the exports.
    pub fn build(cx: &FuseCx<'_, 'a>, order: Vec<InputId>) -> Result<Plan<'a>, FuseError> {
        let mut maps = vec![SpaceMaps::default(); cx.modules.len()];

        // Types, in instantiation order, identical ones written once.
        let types = layout::types(cx, &order, &mut maps)?;

        // Imports that stay imports, merged when identical; they come
        // first in every space.
        let mut items = layout::ItemTypes::default();
        let kept = layout::kept_imports(cx, &order, &maps, &mut items)?;

        // Definitions, in instantiation order after the imports.
        let defined = layout::definitions(cx, &order, &maps, &mut items, kept.counts)?;

        // Every other import, linked to its provider's item and
        // type-checked; the maps of the import-bearing spaces are complete.
        imports::link(cx, &order, &types, &items, &kept, &defined, &mut maps)?;

        // The memory the most code uses becomes the first defined one.
        let mut defined = defined;
        memory_order::busiest_first(
            cx,
            kept.counts[weld_format::Space::Memory],
            &mut defined.memories,
            &mut maps,
        );

        // Segments, in instantiation order; those after the first start
        // are deferred to the synthesized start.
        let segments = layout::segments(cx, &order, &mut maps);

        // Runs of active element segments filling adjacent slots of one
        // table become one segment each.
        let mut elem_starts: Vec<u32> = (0..segments.elems.len() as u32).collect();
        let mut elems = segments.elems;
        if let Some(c) = coalesce(cx.modules, &maps, &elems) {
            for mp in &mut maps {
                for e in &mut mp.elems {
                    e.0 = c.renumber[e.as_usize()];
                }
            }
            (elems, elem_starts) = (c.parts, c.starts);
        }

        let data_starts: Vec<u32> = (0..segments.data.len() as u32).collect();
        let data_runs = vec![None; segments.data.len()];
        let mut plan = Plan {
            order,
            types,
            maps,
            imports: kept.imports,
            funcs: defined.funcs,
            tables: defined.tables,
            memories: defined.memories,
            globals: defined.globals,
            tags: defined.tags,
            elems,
            elem_starts,
            data: segments.data,
            data_starts,
            data_runs,
            exports: Vec::new(),
            start: None,
            start_export: None,
            n_imports: kept.counts,
            folds: Vec::new(),
            renumber: None,
            kept: None,
            declare: Vec::new(),
            body_order: None,
            removed: 0,
            emptied: 0,
            merged: None,
            merged_tables: None,
        };

        // Active data segments of one memory that touch (or nearly) become
        // one segment each; needs the finished maps to read offsets.
        if let Some(c) = coalesce_data(cx, &plan) {
            for mp in &mut plan.maps {
                for d in &mut mp.data {
                    d.0 = c.renumber[d.as_usize()];
                }
            }
            (plan.data, plan.data_starts, plan.data_runs) = (c.parts, c.starts, c.runs);
        }
        Ok(plan)
    }

    /// The last planning step, once function indices are final (after
    /// identical code folding): the start function and the exports.
    pub fn finish(&mut self, cx: &FuseCx<'_, 'a>, opts: &PlanOptions) -> Result<(), FuseError> {
        // The start: deferred segments and start calls, input by input.
        self.start = start::start(cx, self)?;

        // Every export, whatever clashes (only their targets matter here),
        // then the ones asked for; a function whose only declaration was
        // a dropped export is declared for `ref.func`.
        let everything = PlanOptions {
            on_conflict: OnConflict::Rename,
            ..PlanOptions::default()
        };
        self.start_export = opts.start_export.clone();
        let all_exports = exports::plan_exports(cx, &everything, &self.maps)?;
        self.exports = exports::plan_exports(cx, opts, &self.maps)?;
        self.declare = exports::undeclared(&all_exports, &self.exports);
        Ok(())
    }
}

//! `weld fuse`: core modules → one core module.
//!
//! The driver, one stage per call: survey every input, resolve every import,
//! order the inputs for instantiation (a cycle stops here, with every edge
//! named), plan where every item lands, emit the bytes, validate them.
//!
//! The stages of this folder, in pipeline order: [`check`] (the inputs'
//! sections), [`plan`] (old → new index for every space; the folder holds
//! the plan's data and, one file per step, its building, with [`types`]
//! deduplicating the type section), [`code`] (the streaming body
//! rewriter), [`icf`] (identical functions folded), [`reach`] (unused
//! functions removed), [`const_expr`], [`custom`] (name, producers,
//! target_features), [`emit`] (the sections, in order) and [`map`] (the
//! link map and where the bytes went).
//!
//! Imports point one way: every stage reads [`context::FuseCx`] and the
//! plan's data ([`plan::Plan`]), neither of which imports anything of this
//! folder but the type plan, and only this driver calls the stages.

pub(crate) mod check;
pub(crate) mod code;
pub(crate) mod const_expr;
pub(crate) mod context;
pub(crate) mod custom;
pub(crate) mod debug;
pub(crate) mod emit;
pub(crate) mod icf;
pub(crate) mod map;
pub(crate) mod plan;
pub(crate) mod reach;
pub(crate) mod types;

use weld_format::survey::ModuleSurvey;
use weld_format::{InputId, Inputs};

use crate::error::{Error, FuseError};
use crate::fuse::check::check_inputs;
use crate::fuse::code::rewrite_bodies;
pub use crate::fuse::context::FuseCx;
pub use crate::fuse::debug::{DebugReport, SourceMapOptions};
use crate::fuse::emit::emit;
use crate::fuse::icf::Icf;
use crate::fuse::map::link_map;
pub use crate::fuse::map::{
    ByteReport, FoldReport, InputBytes, InputMap, LinkMap, RemovedReport, SegmentCounts,
};
use crate::fuse::plan::{OnConflict, Plan, PlanOptions, Start};
use crate::fuse::reach::ReachOptions;
use crate::resolve::graph::ModuleGraph;
use crate::resolve::{resolve, ResolveOptions};
use std::path::Path;
use weld_format::survey::survey_all;
use weld_format::wat::import_label;
use weld_format::write::{Output, Staged, WriteError};

/// Options for [`fuse`].
#[derive(Debug, Clone)]
pub struct FuseOptions {
    /// Validate (default: yes): every input, each body in the decode that
    /// rewrites it, and the output's sections (the `check` stage's docs say
    /// why that makes the output valid).
    pub validate: bool,
    /// Also validate the output's bodies, reading them again (default: no).
    pub validate_output: bool,
    /// Export name conflicts.
    pub on_conflict: OnConflict,
    /// Keep only these exports.
    pub exports: Option<Vec<String>>,
    /// Drop debug information: DWARF and other debug sections without a
    /// warning, and the `name` section.
    pub strip_debug: bool,
    /// Import resolution.
    pub resolve: ResolveOptions,
    /// Identical code folding (default: safe).
    pub icf: Icf,
    /// Keep functions that nothing reaches (default: no, they are removed).
    pub keep_unused: bool,
    /// Keep functions in input order (default: no, the most used first).
    pub keep_order: bool,
    /// Source maps: the inputs', and the output's.
    pub source_maps: SourceMapOptions,
    /// Merge every memory into one, each at a fixed base, where that keeps
    /// the inputs' behaviour (refused with the reason otherwise; see
    /// DESIGN §3).
    pub merge_memories: bool,
    /// Merge every table into one, each at a fixed base, where that keeps
    /// the inputs' behaviour (refused with the reason otherwise).
    pub merge_tables: bool,
}

impl Default for FuseOptions {
    fn default() -> Self {
        FuseOptions {
            validate: true,
            validate_output: false,
            on_conflict: OnConflict::Error,
            exports: None,
            strip_debug: false,
            resolve: ResolveOptions::default(),
            icf: Icf::Safe,
            keep_unused: false,
            keep_order: false,
            source_maps: SourceMapOptions::default(),
            merge_memories: false,
            merge_tables: false,
        }
    }
}

/// The fused module and what happened on the way.
#[derive(Debug)]
pub struct Fused {
    /// The module's bytes (with [`fuse_to`], mapped from the output file
    /// where it could be mapped: truncating that file in place while they
    /// are alive makes reading them fault, as with any mapped file).
    pub bytes: Output,
    /// Things dropped or changed that the user should know about.
    pub warnings: Vec<String>,
    /// The link map: inputs in instantiation order, and per input its
    /// old → new index maps.
    pub map: LinkMap,
    /// Wall time per stage, in pipeline order (`weld fuse --timings`).
    pub timings: Vec<(&'static str, std::time::Duration)>,
    /// The fused module's source map (JSON), when
    /// [`SourceMapOptions::output`] asked for it.
    pub source_map: Option<Vec<u8>>,
}

/// Fuses core modules into one, in instantiation order.
///
/// ```
/// use weld_format::Inputs;
/// let inputs = Inputs::from_memory([
///     ("app", br#"(module (import "lib" "two" (func $two (result i32)))
///                  (func (export "four") (result i32) call $two call $two i32.add))"#.to_vec()),
///     ("lib", br#"(module (func (export "two") (result i32) i32.const 2))"#.to_vec()),
/// ]).unwrap();
/// let fused = weld_linker::fuse(&Default::default(), &inputs).unwrap();
/// wasmparser::Validator::new().validate_all(&fused.bytes).unwrap();
/// assert_eq!(fused.map.order, ["lib", "app"]);
/// ```
pub fn fuse(opts: &FuseOptions, inputs: &Inputs) -> Result<Fused, Error> {
    fuse_staged(opts, inputs, None).map(|(fused, _)| fused)
}

/// [`fuse`], and the output written to `output` atomically. The module is
/// built in a temporary file next to `output` (mapped, where the file
/// system can reserve its blocks; else written while the module is
/// validated), and renamed into place only once it is valid: a failed run
/// leaves the previous file untouched.
pub fn fuse_to(opts: &FuseOptions, inputs: &Inputs, output: &Path) -> Result<Fused, Error> {
    let (mut fused, staged) = fuse_staged(opts, inputs, Some(output))?;
    let renamed = std::time::Instant::now();
    if let Some(staged) = staged {
        staged?.commit()?;
    }
    fused.timings.push(("rename", renamed.elapsed()));
    Ok(fused)
}

fn fuse_staged(
    opts: &FuseOptions,
    inputs: &Inputs,
    out: Option<&Path>,
) -> Result<(Fused, Option<Result<Staged, WriteError>>), Error> {
    if inputs.is_empty() {
        return Err(FuseError::NoInputs.into());
    }
    let mut clock = Clock::default();
    // Survey in parallel; every input must be a core module.
    let surveys = survey_all(inputs)?;
    clock.lap("survey");
    let files: Vec<&str> = inputs.iter().map(|i| i.display.as_str()).collect();
    let names: Vec<&str> = inputs.iter().map(|i| i.name.as_str()).collect();
    let modules: Vec<&ModuleSurvey<'_>> = surveys
        .iter()
        .zip(&files)
        .map(|(s, f)| {
            s.as_module()
                .ok_or_else(|| FuseError::NotAModule { input: f.to_string() })
        })
        .collect::<Result<_, _>>()?;

    // Resolve every import: another input's export, or it stays an import.
    let links = resolve(&opts.resolve, &names, &surveys.iter().collect::<Vec<_>>());
    if !links.problems.is_empty() {
        return Err(FuseError::Links(links.problems).into());
    }

    // Instantiation order; a cycle is an error naming every edge.
    let graph = ModuleGraph::build(&links.targets);
    let order = graph.order(
        |i: InputId| names[i.as_usize()].to_string(),
        |i: InputId, k: u32| import_label(&surveys[i.as_usize()], k as usize),
    )?;
    clock.lap("resolve");

    // Plan: every index of every input, type-checked links, segments, start.
    let plan_opts = PlanOptions {
        on_conflict: opts.on_conflict,
        exports: opts.exports.clone(),
        ..PlanOptions::default()
    };
    let cx = FuseCx {
        files: &files,
        names: &names,
        modules: &modules,
        links: &links,
        dylink: false,
    };
    let stages = Stages {
        icf: opts.icf,
        plan: plan_opts,
        strip_debug: opts.strip_debug,
        source_maps: opts.source_maps.clone(),
        validate: opts.validate,
        validate_output: opts.validate_output,
        reach: ReachOptions {
            keep_unused: opts.keep_unused,
            keep_order: opts.keep_order,
        },
        merge_memories: opts.merge_memories,
        merge_tables: opts.merge_tables,
    };
    let (mut fused, staged) = run_stages(&cx, order, &stages, out).map_err(Error::from)?;
    clock.laps.append(&mut fused.timings);
    fused.timings = clock.laps;
    Ok((fused, staged))
}

/// Wall time per stage.
/// The output has no more memories and tables than engines accept.
fn limits(plan: &Plan<'_>) -> Result<(), FuseError> {
    use crate::limits::{MAX_MEMORIES, MAX_TABLES};
    use weld_format::Space;
    let count = |merged: bool, space: Space, defined: usize| match merged {
        true => 1,
        false => plan.n_imports[space] as usize + defined,
    };
    let spaces = [
        (
            "memories",
            count(plan.merged.is_some(), Space::Memory, plan.memories.len()),
            MAX_MEMORIES,
            " (--merge-memories puts them in one)",
        ),
        (
            "tables",
            count(plan.merged_tables.is_some(), Space::Table, plan.tables.len()),
            MAX_TABLES,
            " (--merge-tables puts them in one)",
        ),
    ];
    for (what, count, limit, hint) in spaces {
        if count > limit {
            return Err(FuseError::TooMany {
                what,
                count,
                limit,
                hint,
            });
        }
    }
    Ok(())
}

#[derive(Debug)]
pub(crate) struct Clock {
    at: std::time::Instant,
    /// Each stage's name and duration, in order.
    pub laps: Vec<(&'static str, std::time::Duration)>,
}

impl Default for Clock {
    fn default() -> Self {
        Clock {
            at: std::time::Instant::now(),
            laps: Vec::new(),
        }
    }
}

impl Clock {
    /// Ends the stage `name`, which started at the previous lap.
    pub fn lap(&mut self, name: &'static str) {
        let now = std::time::Instant::now();
        self.laps.push((name, now - self.at));
        self.at = now;
    }
}

/// What [`run_stages`] is asked for.
pub(crate) struct Stages {
    /// Identical code folding.
    pub icf: Icf,
    /// Exports and their conflicts.
    pub plan: PlanOptions,
    /// Drop debug information.
    pub strip_debug: bool,
    /// Source maps in and out (unless `strip_debug`).
    pub source_maps: SourceMapOptions,
    /// Validate the inputs and the output's sections.
    pub validate: bool,
    /// Validate the output's bodies too.
    pub validate_output: bool,
    /// Dead-function removal and ordering.
    pub reach: ReachOptions,
    /// Merge the memories (`--merge-memories`).
    pub merge_memories: bool,
    /// Merge the tables (`--merge-tables`).
    pub merge_tables: bool,
}

/// The stages after resolution, shared by `fuse` and `link`: plan, fold,
/// finish, merge custom sections, emit, validate, and the link map; and
/// with `out`, the output staged in its temporary file (see
/// [`weld_format::write::stage`]).
pub(crate) fn run_stages(
    cx: &FuseCx<'_, '_>,
    order: Vec<InputId>,
    stages: &Stages,
    out: Option<&Path>,
) -> Result<(Fused, Option<Result<Staged, WriteError>>), FuseError> {
    let mut clock = Clock::default();
    // Planning, checking the inputs' sections and reading their references
    // outside code read the same surveys and nothing of each other: they
    // run side by side. Folding and reach need those references, and the
    // bodies rewritten up front.
    let relayout = !(stages.reach.keep_unused && stages.reach.keep_order);
    // Debug information needs every body's offset map, which the bodies
    // rewritten up front record.
    let debug =
        (!stages.strip_debug && debug::wanted(cx, &stages.source_maps)).then_some(&stages.source_maps);
    let staged_bodies = relayout || stages.icf != Icf::None || debug.is_some();
    let ((plan, outside), checks) = rayon::join(
        || {
            rayon::join(
                || Plan::build(cx, order),
                || staged_bodies.then(|| reach::outside_refs(cx)).transpose(),
            )
        },
        || stages.validate.then(|| check_inputs(cx)).transpose(),
    );
    // An invalid input is told as the validator found it, before anything
    // the plan derived from it.
    let checks = checks?;
    let mut plan = plan?;
    let outside = outside?.unwrap_or_default();
    let checks = checks.as_deref();
    if stages.merge_memories {
        plan.merged = plan::merge_memories::merge_memories(cx, &plan, &stages.plan)?;
    }
    if stages.merge_tables {
        plan.merged_tables = plan::merge_tables::merge_tables(cx, &plan, &stages.plan)?;
    }
    limits(&plan)?;
    clock.lap("plan+check");

    // Fold identical functions: bodies are rewritten once, in parallel, and
    // compared with their function references left out. Removing and
    // ordering functions reads the same references.
    let chunks = if staged_bodies {
        let bodies = rewrite_bodies(cx, &plan, checks, debug.is_some())?;
        clock.lap("rewrite");
        icf::fold(cx, stages.icf, &mut plan, &bodies, &outside)?;
        clock.lap("fold");
        Some(bodies)
    } else {
        None
    };
    // Function indices are final: place the start function and the exports.
    plan.finish(cx, &stages.plan)?;
    if let Some(bodies) = &chunks {
        reach::reach(cx, stages.reach, &mut plan, bodies, &outside)?;
        clock.lap("reach");
    }

    // Emit: custom sections merged, bodies written (or rewritten) in order.
    let emitted = emit(cx, &plan, stages.strip_debug, chunks, checks, out, debug)?;
    let (bytes, warnings) = (emitted.bytes, emitted.warnings);
    let debug_out = emitted.debug;
    clock.lap("names+emit");

    // With an output path, the output is in its temporary file already
    // (built there by emit) or written to it while it is validated and
    // mapped, side by side (the caller renames it into place only if it is
    // valid; a dropped one is removed).
    let ((checked, map), staged) = rayon::join(
        || {
            rayon::join(
                || -> Result<(), FuseError> {
                    // Merged memories change code beyond its indices: the
                    // output is validated whole.
                    if stages.validate_output || plan.merged.is_some() || plan.merged_tables.is_some() {
                        validate(&bytes)?;
                    } else if stages.validate {
                        // The bodies were validated in their inputs; the
                        // sections, and a synthesized start (the last
                        // function), are checked here.
                        let synthesized = match plan.start {
                            Some(Start::Synthesized { func, .. }) => Some(func.0),
                            _ => None,
                        };
                        weld_format::validate::validate_bodies(&bytes, &|f| Some(f) == synthesized)
                            .map_err(invalid_output)?;
                    }
                    Ok(())
                },
                || link_map(cx, &plan, stages.reach.keep_order, &bytes),
            )
        },
        // Unless emit built it in its file already.
        || {
            emitted
                .staged
                .or_else(|| out.map(|path| weld_format::write::stage(path, &bytes)))
        },
    );
    checked?;
    let mut map = map;
    let mut source_map = None;
    if let Some(d) = debug_out {
        for (m, r) in map.inputs.iter_mut().zip(d.reports) {
            m.debug = Some(r);
        }
        source_map = d.source_map;
    }
    clock.lap(match out {
        Some(_) => "validate+map+write",
        None => "validate+map",
    });
    Ok((
        Fused {
            bytes,
            warnings,
            map,
            timings: clock.laps,
            source_map,
        },
        staged,
    ))
}

/// Validates a module with every feature weld may emit enabled. Function
/// bodies are validated in parallel; the error reported is the first in the
/// file, whatever the thread count.
pub fn validate(bytes: &[u8]) -> Result<(), FuseError> {
    weld_format::validate::validate(bytes, true)
        .map(drop)
        .map_err(invalid_output)
}

/// The validator's error about the fused module.
fn invalid_output(e: wasmparser::BinaryReaderError) -> FuseError {
    FuseError::Invalid { source: e }
}

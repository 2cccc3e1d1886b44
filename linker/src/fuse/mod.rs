//! `weld fuse`: core modules → one core module.
//!
//! The driver, one stage per call: survey every input, resolve every import,
//! order the inputs for instantiation (a cycle stops here, with every edge
//! named), plan where every item lands, emit the bytes, validate them.
//!
//! The stages of this folder, in pipeline order: [`plan`] (old → new index
//! for every space, with [`types`] deduplicating the type section and
//! [`icf`] folding identical functions), [`code`] (the streaming body
//! rewriter), [`const_expr`], [`custom`] (name, producers, target_features)
//! and [`emit`] (the sections, in order).

pub(crate) mod check;
pub(crate) mod coalesce;
pub(crate) mod code;
pub(crate) mod const_expr;
pub(crate) mod custom;
pub(crate) mod emit;
pub(crate) mod icf;
pub(crate) mod plan;
pub(crate) mod reach;
pub(crate) mod types;

use weld_format::survey::ModuleSurvey;
use weld_format::{InputId, Inputs};

use crate::resolve::Resolution;

use crate::error::{Error, FuseError};
use crate::fuse::check::check_inputs;
use crate::fuse::code::rewrite_bodies;
use crate::fuse::emit::emit;
use crate::fuse::plan::{Icf, OnConflict, Plan, PlanOptions, Start};
use crate::fuse::reach::ReachOptions;
use crate::resolve::graph::ModuleGraph;
use crate::resolve::{resolve, ResolveOptions};
use std::path::Path;
use weld_format::survey::survey_all;
use weld_format::wat::import_label;
use weld_format::write::{Output, Staged, WriteError};

/// What every stage of one fuse run reads, built once by [`fuse`] and
/// borrowed by each stage. Every slice is indexed by [`InputId`] (command-line
/// order); `'a` is the inputs' bytes, which the surveys and the plan borrow.
#[derive(Debug, Clone, Copy)]
pub struct FuseCx<'r, 'a> {
    /// Each input as errors name it (its path).
    pub files: &'r [&'r str],
    /// Each input's link name (what other inputs import it by).
    pub names: &'r [&'r str],
    /// Each input's survey.
    pub modules: &'r [&'r ModuleSurvey<'a>],
    /// Where every import of every input goes.
    pub links: &'r Resolution,
    /// Whether the inputs are shared libraries that `weld link` has laid
    /// out: their `dylink.0` sections are consumed, not refused.
    pub dylink: bool,
}

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
}

/// Where every item of every input went.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LinkMap {
    /// Inputs in instantiation order.
    pub order: Vec<String>,
    /// Per input (in command-line order).
    pub inputs: Vec<InputMap>,
    /// Functions folded by identical code folding.
    pub folded: Vec<FoldReport>,
    /// Functions removed because nothing reaches them (their entry in
    /// `inputs[..].funcs` is `null`), in input order.
    pub removed: Vec<RemovedReport>,
    /// Functions kept only for their table slot: no indirect call of their
    /// type reaches that table, so their body is `unreachable`.
    pub emptied: Vec<RemovedReport>,
    /// How the defined functions are ordered: `by use` (most used first,
    /// for the shortest indices) or `planned` (input order).
    pub func_order: &'static str,
    /// Where the output's bytes went.
    pub bytes: ByteReport,
}

/// Where the output's bytes went: per section, and per input.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ByteReport {
    /// Each section in order: its name (`custom:NAME` for a custom
    /// section) and size, header included.
    pub sections: Vec<(String, usize)>,
    /// Per input (command-line order): its function bodies and data
    /// segments in the output, headers included.
    pub inputs: Vec<InputBytes>,
}

/// One input's share of the output.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct InputBytes {
    /// The input's name.
    pub name: String,
    /// Its function bodies (with their size LEBs).
    pub code: usize,
    /// Its data segments.
    pub data: usize,
}

/// One removed (or emptied) function.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RemovedReport {
    /// The input's name.
    pub input: String,
    /// The function's index in that input.
    pub func: u32,
}

/// One folded function.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FoldReport {
    /// The input's name.
    pub input: String,
    /// The function's index in that input.
    pub func: u32,
    /// The output function it was folded into.
    pub into: u32,
}

/// One input's old → new maps.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InputMap {
    /// The input's name.
    pub name: String,
    /// Types.
    pub types: Vec<u32>,
    /// Functions (`None`: removed, nothing reaches it).
    pub funcs: Vec<Option<u32>>,
    /// Tables.
    pub tables: Vec<u32>,
    /// Memories.
    pub memories: Vec<u32>,
    /// Globals.
    pub globals: Vec<u32>,
    /// Tags.
    pub tags: Vec<u32>,
    /// Element segments.
    pub elems: Vec<u32>,
    /// Data segments.
    pub data: Vec<u32>,
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
        validate: opts.validate,
        validate_output: opts.validate_output,
        reach: ReachOptions {
            keep_unused: opts.keep_unused,
            keep_order: opts.keep_order,
        },
    };
    let (mut fused, staged) = run_stages(&cx, order, &stages, out).map_err(Error::from)?;
    clock.laps.append(&mut fused.timings);
    fused.timings = clock.laps;
    Ok((fused, staged))
}

/// Where the bytes of `out` (the plan's output) went. Reads only section
/// and body headers.
fn byte_report(out: &[u8], plan: &Plan<'_>, names: &[&str]) -> ByteReport {
    let mut r = ByteReport {
        sections: Vec::new(),
        inputs: names
            .iter()
            .map(|n| InputBytes {
                name: n.to_string(),
                ..Default::default()
            })
            .collect(),
    };
    let mut last = 8usize;
    let mut body = 0usize;
    for payload in wasmparser::Parser::new(0).parse_all(out) {
        let Ok(payload) = payload else { break };
        use wasmparser::Payload as P;
        match &payload {
            P::CodeSectionEntry(b) => {
                let range = b.range();
                let len = (range.end - range.start) as usize;
                // The body and its size LEB.
                let size = len + crate::fuse::code::leb_len(len as u64);
                if let Some(&(k, _)) = plan.funcs.get(body) {
                    r.inputs[k.as_usize()].code += size;
                }
                body += 1;
            }
            P::DataSection(s) => {
                for (seg, d) in plan.data.iter().zip(s.clone().into_iter_with_offsets()) {
                    if let Ok((at, d)) = d {
                        let end = d.range.end;
                        r.inputs[seg.input.as_usize()].data += (end - at) as usize;
                    }
                }
            }
            _ => {}
        }
        if let Some((id, range)) = payload.as_section() {
            let name = match &payload {
                P::CustomSection(c) => format!("custom:{}", c.name()),
                _ => section_name(id).to_string(),
            };
            let end = range.end as usize;
            r.sections.push((name, end - last));
            last = end;
        }
    }
    r
}

/// A standard section's name, by id.
fn section_name(id: u8) -> &'static str {
    match id {
        1 => "type",
        2 => "import",
        3 => "function",
        4 => "table",
        5 => "memory",
        6 => "global",
        7 => "export",
        8 => "start",
        9 => "element",
        10 => "code",
        11 => "data",
        12 => "data count",
        13 => "tag",
        _ => "unknown",
    }
}

/// Wall time per stage.
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
    /// Validate the inputs and the output's sections.
    pub validate: bool,
    /// Validate the output's bodies too.
    pub validate_output: bool,
    /// Dead-function removal and ordering.
    pub reach: ReachOptions,
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
    let staged_bodies = relayout || stages.icf != Icf::None;
    let ((plan, outside), checks) = rayon::join(
        || {
            rayon::join(
                || Plan::build(cx, order),
                || staged_bodies.then(|| reach::outside_refs(cx)).transpose(),
            )
        },
        || stages.validate.then(|| check_inputs(cx)).transpose(),
    );
    let mut plan = plan?;
    let checks = checks?;
    let outside = outside?.unwrap_or_default();
    let checks = checks.as_deref();
    clock.lap("plan+check");

    // Fold identical functions: bodies are rewritten once, in parallel, and
    // compared with their function references left out. Removing and
    // ordering functions reads the same references.
    let chunks = if staged_bodies {
        let bodies = rewrite_bodies(cx, &plan, checks)?;
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
    let emitted = emit(cx, &plan, stages.strip_debug, chunks, checks, out)?;
    let (bytes, warnings) = (emitted.bytes, emitted.warnings);
    clock.lap("names+emit");

    // With an output path, the output is in its temporary file already
    // (built there by emit) or written to it while it is validated and
    // mapped, side by side (the caller renames it into place only if it is
    // valid; a dropped one is removed).
    let ((checked, map), staged) = rayon::join(
        || {
            rayon::join(
                || -> Result<(), FuseError> {
                    if stages.validate_output {
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
                || {
                    let mut map = link_map(&plan, cx, stages.reach.keep_order);
                    map.bytes = byte_report(&bytes, &plan, cx.names);
                    map
                },
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
    FuseError::Invalid {
        message: e.message().to_string(),
        offset: e.offset() as usize,
    }
}

pub(crate) fn link_map(plan: &Plan<'_>, cx: &FuseCx<'_, '_>, keep_order: bool) -> LinkMap {
    let names = cx.names;
    let removed = plan
        .maps
        .iter()
        .zip(names)
        .flat_map(|(m, n)| {
            m.funcs
                .iter()
                .enumerate()
                .filter(|(_, f)| f.0 == reach::REMOVED)
                .map(|(i, _)| RemovedReport {
                    input: n.to_string(),
                    func: i as u32,
                })
        })
        .collect();
    let emptied = plan
        .body_order
        .iter()
        .flatten()
        .enumerate()
        .filter(|(_, &b)| b == reach::EMPTY)
        .map(|(p, _)| {
            let (k, d) = plan.funcs[p];
            RemovedReport {
                input: names[k.as_usize()].to_string(),
                func: cx.modules[k.as_usize()].imported.funcs + d,
            }
        })
        .collect();
    LinkMap {
        removed,
        emptied,
        bytes: ByteReport::default(),
        func_order: if keep_order || plan.body_order.is_none() {
            "planned"
        } else {
            "by use"
        },
        order: plan
            .order
            .iter()
            .map(|k| names[k.as_usize()].to_string())
            .collect(),
        inputs: plan
            .maps
            .iter()
            .zip(names)
            .map(|(m, n)| InputMap {
                name: n.to_string(),
                types: m.types.iter().map(|x| x.0).collect(),
                funcs: m
                    .funcs
                    .iter()
                    .map(|x| (x.0 != reach::REMOVED).then_some(x.0))
                    .collect(),
                tables: m.tables.iter().map(|x| x.0).collect(),
                memories: m.memories.iter().map(|x| x.0).collect(),
                globals: m.globals.iter().map(|x| x.0).collect(),
                tags: m.tags.iter().map(|x| x.0).collect(),
                elems: m.elems.iter().map(|x| x.0).collect(),
                data: m.data.iter().map(|x| x.0).collect(),
            })
            .collect(),
        folded: plan
            .folds
            .iter()
            .map(|f| FoldReport {
                input: names[f.input.as_usize()].to_string(),
                func: f.func.0,
                into: f.into.0,
            })
            .collect(),
    }
}

//! `weld compose`: components → one component, shared-nothing (DESIGN §3).
//!
//! Pipeline: load → [`contents`] (dedupe children by content, blake3;
//! survey) → [`exports`] (`--export`, looked up by the resolver's rule) →
//! [`resolve`] and [`wire`] (match imports to exports, order, cycles) →
//! [`probe`] (one validator types the children whose imports the result
//! restates) → [`fits`] (hoisting, the validator's limits) → [`emit`]
//! (nested children byte for byte, imports restated, instantiations,
//! exports) → validate, where a wire whose types disagree is reported as
//! that wire, naming both sides ([`explain`]) → the caller writes it.
//!
//! The root is the first input; the others are plugs. Each distinct child is
//! embedded once however many names it was given, and instantiated once per
//! name that something uses.

pub(crate) mod check;
pub(crate) mod contents;
#[cfg(feature = "wac")]
pub(crate) mod document;
pub(crate) mod emit;
pub(crate) mod explain;
pub(crate) mod exports;
pub(crate) mod fits;
pub(crate) mod hoist;
pub(crate) mod probe;
pub(crate) mod report;
pub(crate) mod wire;

use std::collections::HashMap;

use weld_format::{ContentId, InputId, Inputs};

use crate::error::{ComposeError, Error, Problem};
use crate::resolve::{resolve, ResolveOptions};
use contents::Contents;
pub use exports::{ExportReport, ExportSpec};
pub use report::{ComposeMap, HoistReport, WireReport};
use wire::{Children, Source, Wiring};

/// Options for [`compose`].
#[derive(Debug, Clone)]
pub struct ComposeOptions {
    /// How imports are resolved: explicit wires (a wiring file), files found
    /// under `--root`, host namespaces.
    pub resolve: ResolveOptions,
    /// More exports of the result, each an export of a child looked up by
    /// the semver rule (DESIGN §4).
    pub exports: Vec<ExportSpec>,
    /// Validate function bodies of the result too (types and wiring are
    /// always checked).
    pub validate: bool,
    /// Core modules byte-identical in two or more distinct children and at
    /// least this big are defined once and aliased (`usize::MAX`: never).
    pub min_size: usize,
    /// Check the result against this world before returning it, as
    /// [`crate::targets`] does; a result that does not conform is an error.
    #[cfg(feature = "component")]
    pub target: Option<crate::targets::TargetWorld>,
}

impl Default for ComposeOptions {
    fn default() -> Self {
        ComposeOptions {
            resolve: ResolveOptions::default(),
            exports: Vec::new(),
            validate: true,
            min_size: 1024,
            #[cfg(feature = "component")]
            target: None,
        }
    }
}

/// The composed component and what went into it.
#[derive(Debug)]
pub struct Composed {
    /// The component.
    pub bytes: Vec<u8>,
    /// Things the user should know (unused plugs).
    pub warnings: Vec<String>,
    /// What was done that the user may not expect (an `--export` taken by
    /// the semver rule), as [`ExportReport::note`] says it.
    pub notes: Vec<String>,
    /// What each `--export` matched, in the order given.
    pub exports: Vec<ExportReport>,
    /// Children in instantiation order.
    pub order: Vec<String>,
    /// Distinct children embedded (each once).
    pub embedded: usize,
    /// Every wire.
    pub wires: Vec<WireReport>,
    /// The imports of the result.
    pub imports: Vec<String>,
    /// Core modules shared by several children, defined once.
    pub hoisted: Vec<HoistReport>,
    /// The check against [`ComposeOptions::target`], when one was asked for
    /// (it conforms: otherwise compose returns an error).
    #[cfg(feature = "component")]
    pub target: Option<crate::targets::TargetsReport>,
}

impl Composed {
    /// What `weld compose --map` writes: order, wires, imports of the
    /// result, and the modules defined once; [`ComposeMap::to_json`] gives
    /// the file's bytes.
    pub fn map(&self) -> ComposeMap<'_> {
        ComposeMap {
            embedded: self.embedded,
            hoisted: &self.hoisted,
            imports: &self.imports,
            order: &self.order,
            wires: &self.wires,
        }
    }
}

/// Composes the inputs: the first is the root, the rest plug into it and
/// into each other.
///
/// ```
/// use weld_format::Inputs;
/// use weld_linker::{compose, ComposeOptions};
///
/// let greeter = r#"(component
///     (core module $m (func (export "hello") (result i32) i32.const 42))
///     (core instance $i (instantiate $m))
///     (func $f (result u32) (canon lift (core func $i "hello")))
///     (instance $api (export "hello" (func $f)))
///     (export "demo:greet/api@0.2.3" (instance $api)))"#;
/// let app = r#"(component
///     (import "demo:greet/api@0.2.0" (instance $api (export "hello" (func (result u32)))))
///     (alias export $api "hello" (func $hello))
///     (export "run" (func $hello)))"#;
/// let inputs = Inputs::from_memory([("app", app.as_bytes().to_vec()), ("greeter", greeter.as_bytes().to_vec())])?;
/// let out = compose(&ComposeOptions::default(), &inputs)?;
/// assert_eq!(out.order, ["greeter", "app"]);
/// assert!(out.imports.is_empty());
/// wasmparser::Validator::new().validate_all(&out.bytes)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn compose(opts: &ComposeOptions, inputs: &Inputs) -> Result<Composed, Error> {
    // Every input a component; each distinct content once, surveyed.
    let contents = Contents::of(inputs)?;
    let children = contents.children(inputs);
    let names: Vec<&str> = children.iter().map(|(_, c)| c.name).collect();
    let per_input = contents.per_input();

    // Extra exports name a child and one of its exports, found by the
    // resolver's rule; they are instantiated too.
    let (extra, export_reports) = exports::extra_exports(&opts.exports, &names, &per_input)?;

    // The one resolver (the same answer `weld graph` prints), then compose's
    // own part: what is instantiated, in which order.
    let resolution = resolve(&opts.resolve, &names, &per_input);
    let wiring = wire::wire(&children, resolution, &exports::roots(&extra))?;
    let shape = emit::Shape {
        root: Some(InputId(0)),
        exports: &extra,
        first_imports: &[],
    };
    let mut composed = finish(opts, inputs, &contents, &children, &wiring, &shape)?;
    composed.notes = export_reports.iter().filter_map(ExportReport::note).collect();
    composed.exports = export_reports;
    Ok(composed)
}

/// Composes children whose wiring the caller decided (a WAC document):
/// `children` of `contents` (of `inputs`), each child's sources in its
/// import order; every child is instantiated, and `shape` says what is
/// exported and which imports come first.
#[cfg(feature = "wac")]
pub(crate) fn compose_wired(
    opts: &ComposeOptions,
    inputs: &Inputs,
    contents: &Contents<'_>,
    children: &Children<'_>,
    sources: Vec<Vec<Source>>,
    shape: &emit::Shape<'_>,
) -> Result<Composed, Error> {
    let roots: Vec<InputId> = children.iter().map(|(i, _)| i).collect();
    let wiring = wire::order(children, sources, &roots)?;
    finish(opts, inputs, contents, children, &wiring, shape)
}

/// The stages after wiring: probe, hoist, emit, validate, report.
fn finish(
    opts: &ComposeOptions,
    inputs: &Inputs,
    contents: &Contents<'_>,
    children: &Children<'_>,
    wiring: &Wiring,
    shape: &emit::Shape<'_>,
) -> Result<Composed, Error> {
    // Types only for the children that have imports of the result (their
    // types are restated); the wiring of the others is checked when the
    // output is validated.
    let (probed, probe_of) = probe_outer(inputs, contents, children, wiring)?;
    let tys: Vec<Option<&wasmparser::component_types::ComponentType>> = children
        .iter()
        .map(|(_, c)| {
            probe_of
                .get(&c.content)
                .map(|&p| &probed.types[probed.components[p]])
        })
        .collect();

    // Core modules several distinct children share, defined once, as many
    // as the validator's limits need; then the component.
    let hoisted = fits::hoist_to_fit(children, wiring, &contents.bytes, opts.min_size)?;
    let embedded_contents: Vec<&[u8]> = contents
        .bytes
        .iter()
        .zip(&hoisted.rewritten)
        .map(|(orig, new)| new.as_deref().unwrap_or(orig))
        .collect();
    let emitted = emit::emit(
        &probed.types,
        children,
        &tys,
        &embedded_contents,
        &hoisted.modules,
        wiring,
        shape,
    )?;

    // Validated, a failure told as the input or wire it is about.
    if let Err(e) = weld_format::validate::validate(&emitted.bytes, opts.validate) {
        return Err(explain::explain(e, &emitted, children, &contents.bytes, wiring).into());
    }
    #[cfg(feature = "component")]
    let target = check_target(opts, &emitted.bytes)?;

    Ok(Composed {
        hoisted: report::hoisted(&hoisted.modules, inputs, &contents.first_input),
        embedded: emitted.embedded.len(),
        warnings: report::unused(children, wiring),
        notes: Vec::new(),
        exports: Vec::new(),
        #[cfg(feature = "component")]
        target,
        order: wiring
            .order
            .iter()
            .map(|&i| children[i].name.to_string())
            .collect(),
        wires: report::wires(children, wiring),
        imports: emitted.imports,
        bytes: emitted.bytes,
    })
}

/// Probes (types, under one validator) each distinct content of the
/// children that have imports of the result. Returns the probe and, per
/// content probed, its position in it. A child that does not validate is
/// that input's error.
fn probe_outer(
    inputs: &Inputs,
    contents: &Contents<'_>,
    children: &Children<'_>,
    wiring: &Wiring,
) -> Result<(probe::Probe, HashMap<ContentId, usize>), ComposeError> {
    let mut probe_of: HashMap<ContentId, usize> = HashMap::new();
    let mut probed: Vec<&[u8]> = Vec::new();
    for &c in &wiring.order {
        if wiring.sources(c).iter().any(Source::is_outer) {
            probe_of.entry(children[c].content).or_insert_with(|| {
                probed.push(contents.bytes[children[c].content.as_usize()]);
                probed.len() - 1
            });
        }
    }
    match probe::probe(&probed) {
        Ok(p) => Ok((p, probe_of)),
        Err(e) => {
            let input = probe_of
                .iter()
                .find(|(_, &p)| p == e.child)
                .map(|(&k, _)| inputs.get(contents.first_input[k.as_usize()]).display.clone())
                .unwrap_or_else(|| "(composition)".to_string());
            Err(ComposeError::InvalidInput(Box::new(
                Problem::parse(input, None, e.error).because("invalid component"),
            )))
        }
    }
}

/// Checks the result against [`ComposeOptions::target`], when one was
/// given: the report if it conforms, else [`ComposeError::DoesNotConform`].
#[cfg(feature = "component")]
fn check_target(opts: &ComposeOptions, bytes: &[u8]) -> Result<Option<crate::targets::TargetsReport>, Error> {
    let Some(world) = &opts.target else {
        return Ok(None);
    };
    let report = crate::targets::targets(world, "(composition)", bytes)?;
    if !report.conforms {
        let mut items: Vec<String> = report
            .items
            .iter()
            .filter(|i| !i.ok())
            .map(|i| i.to_string())
            .collect();
        items.extend(report.overall.iter().map(|o| format!("whole component: {o}")));
        return Err(ComposeError::DoesNotConform {
            world: report.world,
            items,
        }
        .into());
    }
    Ok(Some(report))
}

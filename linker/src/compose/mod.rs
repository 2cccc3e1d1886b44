//! `weld compose`: components → one component, shared-nothing (DESIGN §3).
//!
//! Pipeline: load → dedupe children by content (blake3) → [`probe`] (one
//! validator types them all) → [`wire`] (match imports to exports, order,
//! cycles) → [`emit`] (nested children byte for byte, imports restated,
//! instantiations, exports) → validate, where a wire whose types disagree is
//! reported as that wire, naming both sides → the caller writes it.
//!
//! The root is the first input; the others are plugs. Each distinct child is
//! embedded once however many names it was given, and instantiated once per
//! name that something uses.

pub(crate) mod check;
pub(crate) mod emit;
pub(crate) mod hoist;
pub(crate) mod probe;
pub(crate) mod wire;

use std::collections::HashMap;

use weld_format::names::{match_key, MatchRule, ProviderIndex};
use weld_format::{ContentId, InputId, Inputs};

use crate::error::{ComposeError, Error, Problem};
use crate::resolve::{resolve, ResolveOptions};
use wire::Source;

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
    pub target: Option<crate::TargetWorld>,
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

/// One more export of the result: `input`'s export `name` (exact, or the
/// highest version on the same semver track), exported under its own name
/// or under `rename`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSpec {
    /// The child (its name).
    pub input: String,
    /// The export looked for.
    pub name: String,
    /// The name in the result, if not the provider's own.
    pub rename: Option<String>,
}

impl ExportSpec {
    /// `input`'s export `name`, under the provider's own name.
    pub fn new(input: impl Into<String>, name: impl Into<String>) -> Self {
        ExportSpec {
            input: input.into(),
            name: name.into(),
            rename: None,
        }
    }
}

/// A core module defined once in the composed component for the children
/// that share it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HoistReport {
    /// `sha256:<hex>`.
    pub digest: String,
    /// Its size in bytes (saved once per user after the first).
    pub size: u64,
    /// The children that use it (their first names).
    pub users: Vec<String>,
}

/// One wire of the composition, for reports.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WireReport {
    /// The importing child.
    pub importer: String,
    /// The import.
    pub import: String,
    /// The providing child.
    pub provider: String,
    /// The export.
    pub export: String,
    /// How it matched: `exact`, `semver` or `wiring`.
    pub rule: String,
}

/// The composed component and what went into it.
#[derive(Debug)]
pub struct Composed {
    /// The component.
    pub bytes: Vec<u8>,
    /// Things the user should know (unused plugs).
    pub warnings: Vec<String>,
    /// What was done that the user may not expect (an `--export` taken by
    /// the semver rule).
    pub notes: Vec<String>,
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
    pub target: Option<crate::TargetsReport>,
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
    if inputs.is_empty() {
        return Err(ComposeError::NoInputs.into());
    }
    for input in inputs.iter() {
        if !wasmparser::Parser::is_component(input.bytes()) {
            return Err(ComposeError::NotAComponent {
                input: input.display.clone(),
            }
            .into());
        }
    }
    // Distinct contents, in input order of first appearance.
    let mut content_of_hash: HashMap<blake3::Hash, ContentId> = HashMap::new();
    let mut contents: Vec<&[u8]> = Vec::new();
    let mut first_input: Vec<InputId> = Vec::new();
    let content: Vec<ContentId> = inputs
        .enumerate()
        .map(|(i, input)| {
            *content_of_hash
                .entry(blake3::hash(input.bytes()))
                .or_insert_with(|| {
                    contents.push(input.bytes());
                    first_input.push(i);
                    ContentId(contents.len() as u32 - 1)
                })
        })
        .collect();
    // Names and kinds from the survey (zero-copy, no validation): enough to wire.
    let surveys = contents
        .iter()
        .zip(&first_input)
        .map(|(bytes, &i)| {
            let display = &inputs.get(i).display;
            match weld_format::survey(display, bytes)? {
                s @ weld_format::Survey::Component(_) => Ok(s),
                weld_format::Survey::Module(_) => Err(Error::from(ComposeError::NotAComponent {
                    input: display.clone(),
                })),
            }
        })
        .collect::<Result<Vec<_>, Error>>()?;
    // Every survey is a component's (modules were refused above).
    let components: Vec<&weld_format::ComponentSurvey<'_>> = surveys
        .iter()
        .filter_map(weld_format::Survey::as_component)
        .collect();
    let children = wire::Children(
        inputs
            .iter()
            .zip(&content)
            .map(|(input, &k)| wire::Child::new(input.name.as_str(), k, components[k.as_usize()]))
            .collect(),
    );

    // Extra exports name a child and one of its exports.
    let by_name: HashMap<&str, InputId> = children.iter().map(|(i, c)| (c.name, i)).collect();
    let mut exports = Vec::with_capacity(opts.exports.len());
    let mut notes = Vec::new();
    let mut indexes: HashMap<InputId, ProviderIndex<'_, usize>> = HashMap::new();
    for spec in &opts.exports {
        let (child, wanted) = (&spec.input, &spec.name);
        let shown = format!("{child}/{wanted}");
        let Some(&c) = by_name.get(child.as_str()) else {
            return Err(ComposeError::BadExport(shown, format!("no input is named `{child}`")).into());
        };
        let index = indexes.entry(c).or_insert_with(|| {
            let mut index = ProviderIndex::new();
            for (k, name) in children[c].exports.keys().enumerate() {
                index.insert(name, k);
            }
            index
        });
        let Some((&k, rule)) = index.lookup(wanted) else {
            let reason = match children[c]
                .exports
                .keys()
                .find(|n| match_key(n).0 == match_key(wanted).0)
            {
                Some(other) => format!(
                    "`{child}` has no export `{wanted}` (it exports `{other}`, on another semver track)"
                ),
                None => format!("`{child}` has no export `{wanted}`"),
            };
            return Err(ComposeError::BadExport(shown, reason).into());
        };
        let found = children[c]
            .exports
            .get_index(k)
            .map(|(n, _)| n.to_string())
            .unwrap_or_default();
        let as_name = spec.rename.clone().unwrap_or_else(|| found.clone());
        if let Err(e) = wasmparser::names::ComponentName::new(&as_name, 0) {
            return Err(ComposeError::BadExport(
                shown,
                format!(
                    "`{as_name}` is not a valid export name: {}",
                    weld_format::one_line(e.message())
                ),
            )
            .into());
        }
        if rule == MatchRule::Semver {
            notes.push(format!(
                "--export {shown}: took `{found}` by the semver rule; the result exports it as `{as_name}`"
            ));
        }
        exports.push(emit::ExtraExport {
            child: c,
            export: found,
            as_name,
        });
    }
    let mut roots = vec![InputId(0)];
    roots.extend(exports.iter().map(|e| e.child));

    // The one resolver (the same answer `weld graph` prints), then compose's
    // own part: what is instantiated, in which order.
    let names: Vec<&str> = children.iter().map(|(_, c)| c.name).collect();
    let per_input: Vec<&weld_format::Survey<'_>> = content.iter().map(|k| &surveys[k.as_usize()]).collect();
    let resolution = resolve(&opts.resolve, &names, &per_input);
    let wiring = wire::wire(&children, resolution, &roots)?;

    // Types only for the children that have imports of the result (their
    // types are restated); the wiring of the others is checked when the
    // output is validated.
    let mut probe_of: HashMap<ContentId, usize> = HashMap::new();
    let mut probed_contents: Vec<&[u8]> = Vec::new();
    for &c in &wiring.order {
        if wiring.sources(c).contains(&Source::Outer) {
            probe_of.entry(children[c].content).or_insert_with(|| {
                probed_contents.push(contents[children[c].content.as_usize()]);
                probed_contents.len() - 1
            });
        }
    }
    let probed = probe::probe(&probed_contents).map_err(|e| {
        let input = probe_of
            .iter()
            .find(|(_, &p)| p == e.child)
            .map(|(&k, _)| inputs.get(first_input[k.as_usize()]).display.clone())
            .unwrap_or_else(|| "(composition)".to_string());
        ComposeError::InvalidInput(Box::new(
            Problem::parse(input, None, e.error).because("invalid component"),
        ))
    })?;
    let types = &probed.types;
    let tys: Vec<Option<&wasmparser::component_types::ComponentType>> = children
        .iter()
        .map(|(_, c)| probe_of.get(&c.content).map(|&p| &types[probed.components[p]]))
        .collect();
    // Core modules several distinct children share: defined once, aliased.
    // Past the validator's module limit, small shared modules are hoisted
    // too, whatever `min_size` says: that is what lets the result exist.
    // Only the children embedded (instantiated) take part; the others are
    // left out of the result altogether.
    let mut used = vec![false; contents.len()];
    for &c in &wiring.order {
        used[children[c].content.as_usize()] = true;
    }
    let mut hoisted = hoist::hoist(&contents, &used, opts.min_size);
    let mut limits = check_limits(&children, &wiring, &contents, &hoisted);
    if limits.is_err() && opts.min_size > 0 && opts.min_size != usize::MAX {
        hoisted = hoist::hoist(&contents, &used, 0);
        limits = check_limits(&children, &wiring, &contents, &hoisted);
    }
    limits?;
    let embedded_contents: Vec<&[u8]> = contents
        .iter()
        .zip(&hoisted.rewritten)
        .map(|(orig, new)| new.as_deref().unwrap_or(orig))
        .collect();
    let emitted = emit::emit(
        types,
        &children,
        &tys,
        &embedded_contents,
        &hoisted.modules,
        &wiring,
        &exports,
    )?;

    if let Err(e) = weld_format::validate::validate(&emitted.bytes, opts.validate) {
        return Err(explain(&e, &emitted, &children, &contents, &wiring).into());
    }
    #[cfg(feature = "component")]
    let target = match &opts.target {
        Some(world) => {
            let report = crate::targets(world, "(composition)", &emitted.bytes)?;
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
            Some(report)
        }
        None => None,
    };

    let name = |i: InputId| children[i].name.to_string();
    let mut wires = Vec::new();
    for &c in &wiring.order {
        for (k, (&import, _)) in children[c].imports.iter().enumerate() {
            if let Source::Wire {
                provider,
                export,
                rule,
            } = &wiring.sources(c)[k]
            {
                wires.push(WireReport {
                    importer: name(c),
                    import: import.to_string(),
                    provider: name(*provider),
                    export: export.clone(),
                    rule: rule.to_string(),
                });
            }
        }
    }
    let warnings = wiring
        .unused
        .iter()
        .map(|&i| format!("{}: nothing imports from it; not instantiated", name(i)))
        .collect();
    let hoisted = hoisted
        .modules
        .iter()
        .map(|m| HoistReport {
            digest: weld_format::names::oci_digest(&m.sha256),
            size: m.bytes.len() as u64,
            users: m
                .users
                .iter()
                .map(|k| inputs.get(first_input[k.as_usize()]).name.clone())
                .collect(),
        })
        .collect();
    Ok(Composed {
        hoisted,
        embedded: emitted.embedded.len(),
        bytes: emitted.bytes,
        warnings,
        notes,
        #[cfg(feature = "component")]
        target,
        order: wiring.order.iter().map(|&i| name(i)).collect(),
        wires,
        imports: emitted.imports,
    })
}

/// Modules and components in `bytes`, itself and nested ones at any depth.
fn modules_and_components(bytes: &[u8]) -> usize {
    let mut n = 1;
    if let Ok(secs) = weld_format::sections::sections(bytes) {
        for s in &secs {
            match (&s.payload, s.nested()) {
                (wasmparser::Payload::ModuleSection { .. }, _) => n += 1,
                (wasmparser::Payload::ComponentSection { .. }, Some(r)) => {
                    n += modules_and_components(&bytes[r])
                }
                _ => {}
            }
        }
    }
    n
}

/// The validator's limits the output would pass, checked before it is
/// built: one error naming the limit and the count, blaming no input.
fn check_limits(
    children: &wire::Children<'_>,
    wiring: &wire::Wiring,
    contents: &[&[u8]],
    hoist: &hoist::Hoist<'_>,
) -> Result<(), ComposeError> {
    let hoisted = hoist.modules.len();
    use crate::limits::{MAX_COMPONENTS, MAX_MODULES_AND_COMPONENTS};
    let mut embedded: Vec<ContentId> = wiring.order.iter().map(|&c| children[c].content).collect();
    embedded.sort();
    embedded.dedup();
    if embedded.len() > MAX_COMPONENTS {
        return Err(ComposeError::Limit {
            what: "components".to_string(),
            count: embedded.len(),
            limit: MAX_COMPONENTS,
            hint: format!(
                "Each of the {} distinct components instantiated is one; the validator counts nested ones too, so composing in stages does not get under it: use fewer distinct components.",
                embedded.len()
            ),
        });
    }
    let inside: usize = embedded
        .iter()
        .map(|k| {
            let k = k.as_usize();
            modules_and_components(hoist.rewritten[k].as_deref().unwrap_or(contents[k]))
        })
        .sum();
    let count = 1 + hoisted + inside;
    if count > MAX_MODULES_AND_COMPONENTS {
        return Err(ComposeError::Limit {
            what: "modules and components, nested ones included".to_string(),
            count,
            limit: MAX_MODULES_AND_COMPONENTS,
            hint: format!(
                "Its {} distinct components hold {} between them ({hoisted} core modules they share already defined once); composing in stages does not get under it: use fewer distinct components, or ones that share more identical core modules.",
                embedded.len(),
                inside
            ),
        });
    }
    Ok(())
}

/// Turns a validation error of the output into the wire it is about, when it
/// is about one (an instantiation whose argument does not fit).
fn explain(
    e: &wasmparser::BinaryReaderError,
    emitted: &emit::Emitted,
    children: &wire::Children<'_>,
    contents: &[&[u8]],
    wiring: &wire::Wiring,
) -> ComposeError {
    let message = weld_format::one_line(e.message());
    let offset = e.offset() as usize;
    let invalid = || ComposeError::Invalid {
        message: message.clone(),
        offset,
    };
    // Inside an embedded child: that input is invalid (children without
    // imports of the result are validated only here).
    let nested = weld_format::sections::sections(&emitted.bytes)
        .ok()
        .into_iter()
        .flatten()
        .filter_map(|s| match s.payload {
            wasmparser::Payload::ComponentSection { .. } => s.nested(),
            _ => None,
        });
    for (range, &c) in nested.zip(&emitted.embedded) {
        // A child valid on its own is not at fault (a limit of the whole, or
        // a wire): the output is named instead.
        let valid_alone =
            || weld_format::validate::validate(contents[children[c].content.as_usize()], false).is_ok();
        if range.contains(&offset) && !valid_alone() {
            let mut p = Problem::parse(children[c].name, None, e.clone()).because("invalid component");
            p.offset = Some((offset - range.start) as u64);
            return ComposeError::InvalidInput(Box::new(p));
        }
    }
    let Some(nth) = instantiation_at(&emitted.bytes, offset) else {
        return invalid();
    };
    let Some(&c) = emitted.instantiated.get(nth) else {
        return invalid();
    };
    let child = &children[c];
    // Which import: the validator's instantiation check, rerun per wire.
    let Some((k, reason)) = check::culprit(c, children, contents, wiring) else {
        return ComposeError::TypeMismatch {
            importer: child.name.to_string(),
            import: "(instantiation)".to_string(),
            from: "<- its arguments".to_string(),
            message,
        };
    };
    let import = child.imports.get_index(k).map(|(n, _)| *n).unwrap_or("?");
    let from = match &wiring.sources(c)[k] {
        Source::Wire {
            provider,
            export,
            rule,
        } => format!("<- `{}` export `{export}` [{rule}]", children[*provider].name),
        Source::Outer => format!(
            "<- import `{}` of the composed component (shared with other children)",
            emitted
                .outer_names
                .get(&(c, k))
                .map(String::as_str)
                .unwrap_or(import)
        ),
    };
    ComposeError::TypeMismatch {
        importer: child.name.to_string(),
        import: import.to_string(),
        from,
        message: reason,
    }
}

/// Which instantiation (counting `instantiate` entries of the top level in
/// order) the byte `offset` of `bytes` falls in.
fn instantiation_at(bytes: &[u8], offset: usize) -> Option<usize> {
    use wasmparser::{BinaryReader, ComponentInstance, ComponentInstanceSectionReader};
    let mut reader = BinaryReader::new(bytes, 0);
    reader.read_bytes(8).ok()?;
    let mut nth = 0usize;
    while !reader.eof() {
        let id = reader.read_u8().ok()?;
        let size = reader.read_var_u32().ok()? as usize;
        let start = reader.original_position();
        let body = reader.read_bytes(size).ok()?;
        if id != 5 {
            continue;
        }
        let section = ComponentInstanceSectionReader::new(BinaryReader::new(body, start)).ok()?;
        let end = start + size as u64;
        let offset = offset as u64;
        let mut last: Option<usize> = None;
        for item in section.into_iter_with_offsets() {
            let (at, instance) = item.ok()?;
            if let ComponentInstance::Instantiate { .. } = instance {
                if at <= offset {
                    last = Some(nth);
                }
                nth += 1;
            }
        }
        if (start..=end).contains(&offset) {
            return last;
        }
    }
    None
}

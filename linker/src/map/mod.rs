//! `weld map`: a transformation run on each distinct core module of a
//! component, and the component put back together with the results.
//!
//! component → [`find`] (every core module at every depth, once per content
//! hash, with the exports the component's instances use of it) → selection
//! (`only`, `min_size`) → the transformation, in parallel, once per distinct
//! module → [`check`] (valid, no new import, every used export kept with its
//! type) → [`assemble`] (each result in every place of its original) →
//! validation of the whole component.
//!
//! The transformation is a function, so a toolchain can pass its own; the
//! command line passes one that runs a command (`weld map --exec`).

mod assemble;
mod check;
mod find;

use std::collections::HashMap;

use rayon::prelude::*;
use wasmparser::{BinaryReader, Name, NameSectionReader, Parser, Payload};
use weld_format::names::canonical_hash_name;
use weld_format::Problem;

pub use crate::error::MapError;

/// The features engines ship: weld's core set without the proposals it
/// also reads (compact imports, wide arithmetic, custom page sizes, legacy
/// exceptions).
const STABLE: wasmparser::WasmFeatures = weld_format::validate::CORE_FEATURES
    .difference(wasmparser::WasmFeatures::COMPACT_IMPORTS)
    .difference(wasmparser::WasmFeatures::WIDE_ARITHMETIC)
    .difference(wasmparser::WasmFeatures::CUSTOM_PAGE_SIZES)
    .difference(wasmparser::WasmFeatures::LEGACY_EXCEPTIONS);

/// What `map` runs on.
#[derive(Debug, Clone, Default)]
pub struct MapOptions {
    /// Only the modules these select: a module's name (its name section's),
    /// its hash name (`sha256-<hex>` or `sha256:<hex>`) or at least 8 leading
    /// hex digits of it. Empty: every module.
    pub only: Vec<String>,
    /// Only modules of at least this many bytes.
    pub min_size: u64,
    /// Skip validating the result (the transformed modules are always
    /// validated and checked against their originals).
    pub no_validate: bool,
}

/// One distinct core module of the component.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MapModule {
    /// Its canonical hash name, `sha256-<hex>`.
    pub hash: String,
    /// The name its name section gives it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its size in bytes.
    pub bytes: u64,
    /// Every place it stands, in file order (`component[1]/module[0]`).
    pub places: Vec<String>,
    /// Whether the options select it.
    pub selected: bool,
    /// The exports the component's instances use (all of them when the
    /// module is itself exported or passed to a component).
    pub used_exports: Vec<String>,
    /// Its size after the transformation (selected modules, once run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes_after: Option<u64>,
}

impl MapModule {
    /// How errors and listings name it: its first place, its name, the
    /// start of its hash.
    pub fn label(&self) -> String {
        let short = &self.hash[..self.hash.len().min("sha256-".len() + 12)];
        match &self.name {
            // A name is any string: escaped, so a message stays one line.
            Some(n) => format!("{} \"{}\" ({short})", self.places[0], n.escape_debug()),
            None => format!("{} ({short})", self.places[0]),
        }
    }
}

/// The result of [`map_modules`].
#[derive(Debug)]
pub struct Mapped {
    /// The component with the transformed modules.
    pub bytes: Vec<u8>,
    /// Every distinct module, selected or not, with its size after.
    pub modules: Vec<MapModule>,
}

/// The distinct core modules of `bytes` (a component) and which `opts`
/// selects: what [`map_modules`] would run on (`--dry-run`).
pub fn map_plan(opts: &MapOptions, input: &str, bytes: &[u8]) -> Result<Vec<MapModule>, MapError> {
    Ok(plan(opts, input, bytes)?.1)
}

/// Runs `transform` on each distinct selected core module of `bytes` (a
/// component), in parallel, and puts the component back together.
///
/// `transform` gets the module and its bytes and returns the new bytes, or
/// why it failed. Each result must be a valid core module that imports
/// nothing the original did not and keeps every export the component uses
/// with its type; the whole component is then validated.
///
/// ```
/// let component = wat::parse_str(r#"(component
///   (core module $m (func (export "f") (result i32) i32.const 1 i32.const 1 i32.add))
///   (core instance $i (instantiate $m))
///   (func (export "f") (result u32) (canon lift (core func $i "f"))))"#)?;
/// let out = weld_linker::map_modules(&Default::default(), "c.wasm", &component, |_, module| {
///     // A transformation that keeps the module as it is.
///     Ok(module.to_vec())
/// })?;
/// assert_eq!(out.bytes, component);
/// assert_eq!(out.modules[0].used_exports, ["f"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn map_modules<F>(opts: &MapOptions, input: &str, bytes: &[u8], transform: F) -> Result<Mapped, MapError>
where
    F: Fn(&MapModule, &[u8]) -> Result<Vec<u8>, String> + Sync,
{
    let (found, mut modules) = plan(opts, input, bytes)?;
    let picked: Vec<usize> = (0..modules.len()).filter(|&k| modules[k].selected).collect();
    let results: Vec<Result<Vec<u8>, MapError>> = picked
        .par_iter()
        .map(|&k| {
            let m = &modules[k];
            let f = &found.list[k];
            let old = &bytes[f.range.clone()];
            let new = transform(m, old).map_err(|reason| MapError::Transform {
                input: input.to_string(),
                module: m.label(),
                reason: weld_format::one_line(&reason),
            })?;
            let fault = |reason: String| MapError::Unfit {
                input: input.to_string(),
                module: m.label(),
                reason,
            };
            if !new.starts_with(b"\0asm") {
                return Err(fault("the result is not a WebAssembly binary".to_string()));
            }
            if Parser::is_component(&new) {
                return Err(fault("the result is a component, not a core module".to_string()));
            }
            // The original's types; and whether it keeps to the features
            // engines ship. Then its result must too: a tool that writes a
            // proposal's encoding would make a component engines do not load.
            let all = |_| true;
            let (old_types, stable) = match weld_format::validate::validate_with(old, STABLE, &all) {
                Ok(types) => (types, true),
                Err(_) => {
                    let types = weld_format::validate::validate(old, false).map_err(|e| {
                        MapError::Malformed(Box::new(Problem {
                            offset: Some(f.range.start as u64 + e.offset()),
                            ..Problem::read(input, m.places[0].as_str(), e)
                        }))
                    })?;
                    (types, false)
                }
            };
            let features = if stable {
                STABLE
            } else {
                weld_format::validate::CORE_FEATURES
            };
            let new_types = weld_format::validate::validate_with(&new, features, &all).map_err(|e| {
                let why = weld_format::one_line(e.message());
                if stable && weld_format::validate::validate(&new, true).is_ok() {
                    fault(format!(
                        "the result needs a WebAssembly proposal the original did not use: {why}"
                    ))
                } else {
                    fault(format!("the result is not valid: {why}"))
                }
            })?;
            let (was, now) = (check::Interface::of(&old_types), check::Interface::of(&new_types));
            if let Some(why) = check::fits(&was, &now, &f.used, f.all_used) {
                return Err(fault(why.to_string()));
            }
            Ok(new)
        })
        .collect();
    let mut replaced: HashMap<usize, Vec<u8>> = HashMap::with_capacity(picked.len());
    for (&k, r) in picked.iter().zip(results) {
        let new = r?;
        modules[k].bytes_after = Some(new.len() as u64);
        replaced.insert(k, new);
    }
    let out = assemble::assemble(bytes, &|range| {
        found
            .at(range.start)
            .and_then(|k| replaced.get(&k))
            .map(Vec::as_slice)
    });
    if !opts.no_validate {
        weld_format::validate::validate(&out, true).map_err(|e| MapError::Output {
            input: input.to_string(),
            reason: weld_format::one_line(e.message()),
        })?;
    }
    Ok(Mapped { bytes: out, modules })
}

/// The walk, the names and the selection.
fn plan(opts: &MapOptions, input: &str, bytes: &[u8]) -> Result<(find::Modules, Vec<MapModule>), MapError> {
    if !Parser::is_component(bytes) {
        return Err(MapError::NotAComponent {
            input: input.to_string(),
        });
    }
    let found = find::modules(input, bytes).map_err(|p| MapError::Malformed(Box::new(p)))?;
    weld_format::validate::validate(bytes, false).map_err(|e| {
        MapError::Malformed(Box::new(
            Problem::parse(input, None, e).because("invalid component"),
        ))
    })?;
    let mut modules = Vec::with_capacity(found.list.len());
    for f in &found.list {
        let name = module_name(&bytes[f.range.clone()]).map_err(|e| {
            MapError::Malformed(Box::new(Problem {
                offset: Some(f.range.start as u64 + e.offset()),
                ..Problem::read(input, format!("{}: name section", f.places[0]), e)
            }))
        })?;
        let mut used: Vec<String> = f.used.iter().cloned().collect();
        if f.all_used {
            used = exports(&bytes[f.range.clone()]);
        }
        modules.push(MapModule {
            hash: canonical_hash_name(&f.digest),
            name,
            bytes: f.range.len() as u64,
            places: f.places.clone(),
            selected: true,
            used_exports: used,
            bytes_after: None,
        });
    }
    for selector in &opts.only {
        if !modules.iter().any(|m| selects(selector, m)) {
            return Err(MapError::NoMatch {
                input: input.to_string(),
                selector: selector.clone(),
            });
        }
    }
    for m in &mut modules {
        m.selected =
            m.bytes >= opts.min_size && (opts.only.is_empty() || opts.only.iter().any(|s| selects(s, m)));
    }
    Ok((found, modules))
}

/// Whether `selector` names `m`: its name, its hash name, or a prefix of at
/// least 8 hex digits of its hash.
fn selects(selector: &str, m: &MapModule) -> bool {
    let hex = &m.hash["sha256-".len()..];
    let wanted = selector
        .strip_prefix("sha256-")
        .or_else(|| selector.strip_prefix("sha256:"));
    match wanted {
        Some(h) => h.len() >= 8 && hex.starts_with(h),
        None => m.name.as_deref() == Some(selector) || (selector.len() >= 8 && hex.starts_with(selector)),
    }
}

/// The name a module's name section gives it; an unreadable name section
/// is an error.
fn module_name(bytes: &[u8]) -> Result<Option<String>, wasmparser::BinaryReaderError> {
    for payload in Parser::new(0).parse_all(bytes) {
        let Payload::CustomSection(c) = payload? else {
            continue;
        };
        if c.name() != "name" {
            continue;
        }
        // Every name read, so a bad one anywhere is found here.
        let mut module = None;
        for sub in NameSectionReader::new(BinaryReader::new(c.data(), c.data_offset())) {
            match sub? {
                Name::Module { name, .. } => module = Some(name.to_string()),
                Name::Function(m)
                | Name::Type(m)
                | Name::Table(m)
                | Name::Memory(m)
                | Name::Global(m)
                | Name::Element(m)
                | Name::Data(m)
                | Name::Tag(m) => {
                    for n in m {
                        n?;
                    }
                }
                Name::Local(m)
                | Name::Label(m)
                | Name::Field(m)
                | Name::Parameter(m)
                | Name::TagParameter(m) => {
                    for i in m {
                        for n in i?.names {
                            n?;
                        }
                    }
                }
                Name::Unknown { .. } => {}
            }
        }
        return Ok(module);
    }
    Ok(None)
}

/// Every export name of a (walked, valid) module.
fn exports(bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for payload in Parser::new(0).parse_all(bytes).flatten() {
        if let Payload::ExportSection(reader) = payload {
            out.extend(reader.into_iter().flatten().map(|e| e.name.to_string()));
        }
    }
    out
}

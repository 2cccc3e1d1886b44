//! The distinct core modules of a component, at every depth, and what its
//! instances use of each.
//!
//! One walk of the top-level sections of each nested component (nested
//! items are not descended into by the section walk; this stage recurses
//! itself, keeping a stack of module index spaces for `alias outer`). A
//! module is keyed by the SHA-256 of its bytes: the same bytes at several
//! places are one module. What is used of a module: every export a core
//! alias reads from one of its instances. A module that leaves the reach of
//! this analysis (exported, passed to a component instantiation) needs all
//! its exports.

use std::collections::{BTreeSet, HashMap};
use std::ops::Range;

use wasmparser::{
    ComponentAlias, ComponentExternalKind, ComponentOuterAliasKind, ComponentTypeRef, Instance, Payload,
};
use weld_format::sections::sections;
use weld_format::Problem;

/// One distinct core module.
#[derive(Debug)]
pub(crate) struct Found {
    /// SHA-256 of its bytes.
    pub digest: [u8; 32],
    /// Its bytes' range in the file (its first place).
    pub range: Range<usize>,
    /// Where it stands: `module[0]`, `component[2]/module[1]`, ... (every
    /// place, in file order).
    pub places: Vec<String>,
    /// The exports the component's core aliases read from its instances.
    pub used: BTreeSet<String>,
    /// Whether every export is needed (the module is exported or passed on).
    pub all_used: bool,
}

/// What the walk found.
#[derive(Debug, Default)]
pub(crate) struct Modules {
    /// The distinct modules, in order of first place.
    pub list: Vec<Found>,
    by_digest: HashMap<[u8; 32], usize>,
    /// The module at each place, by where its bytes start in the file.
    by_offset: HashMap<usize, usize>,
}

impl Modules {
    /// The module whose bytes (at any of its places) start at `offset`.
    pub fn at(&self, offset: usize) -> Option<usize> {
        self.by_offset.get(&offset).copied()
    }
}

/// Walks `bytes` (a component) at every depth.
pub(crate) fn modules(input: &str, bytes: &[u8]) -> Result<Modules, Problem> {
    let mut out = Modules::default();
    let mut scopes = Vec::new();
    walk(input, bytes, 0, "", &mut scopes, &mut out)?;
    Ok(out)
}

/// A module index space entry: which found module, when known.
type ModuleSpace = Vec<Option<usize>>;

fn walk(
    input: &str,
    bytes: &[u8],
    base: usize,
    path: &str,
    scopes: &mut Vec<ModuleSpace>,
    out: &mut Modules,
) -> Result<(), Problem> {
    if scopes.len() >= weld_format::limits::MAX_NESTING {
        return Err(Problem::at(
            input,
            display(path).as_str(),
            Some(base as u64),
            format!("nested deeper than {} levels", weld_format::limits::MAX_NESTING),
        ));
    }
    let secs = sections(bytes).map_err(|e| parse(input, path, base, e))?;
    scopes.push(Vec::new());
    // The module of each core instance, when it instantiates a known one.
    let mut instances: Vec<Option<usize>> = Vec::new();
    let (mut n_modules, mut n_components) = (0usize, 0usize);
    let here = |label: String| {
        if path.is_empty() {
            label
        } else {
            format!("{path}/{label}")
        }
    };
    for s in &secs {
        match &s.payload {
            Payload::ModuleSection { .. } => {
                let r = s.nested().expect("a nested section");
                let place = here(format!("module[{n_modules}]"));
                n_modules += 1;
                let digest = weld_format::digest::sha256(&bytes[r.clone()]);
                let k = match out.by_digest.get(&digest) {
                    Some(&k) => {
                        out.list[k].places.push(place);
                        k
                    }
                    None => {
                        out.by_digest.insert(digest, out.list.len());
                        out.list.push(Found {
                            digest,
                            range: base + r.start..base + r.end,
                            places: vec![place],
                            used: BTreeSet::new(),
                            all_used: false,
                        });
                        out.list.len() - 1
                    }
                };
                out.by_offset.insert(base + r.start, k);
                scopes.last_mut().expect("a scope").push(Some(k));
            }
            Payload::ComponentSection { .. } => {
                let r = s.nested().expect("a nested section");
                let place = here(format!("component[{n_components}]"));
                n_components += 1;
                walk(input, &bytes[r.clone()], base + r.start, &place, scopes, out)?;
            }
            Payload::ComponentImportSection(reader) => {
                for import in reader.clone() {
                    let import = import.map_err(|e| parse(input, path, base, e))?;
                    if matches!(import.ty, ComponentTypeRef::Module(_)) {
                        scopes.last_mut().expect("a scope").push(None);
                    }
                }
            }
            Payload::ComponentAliasSection(reader) => {
                for alias in reader.clone() {
                    match alias.map_err(|e| parse(input, path, base, e))? {
                        ComponentAlias::CoreInstanceExport {
                            instance_index, name, ..
                        } => {
                            if let Some(Some(k)) = instances.get(instance_index as usize) {
                                out.list[*k].used.insert(name.to_string());
                            }
                        }
                        ComponentAlias::Outer {
                            kind: ComponentOuterAliasKind::CoreModule,
                            count,
                            index,
                        } => {
                            let depth = scopes.len() - 1;
                            let m = (count as usize <= depth)
                                .then(|| scopes[depth - count as usize].get(index as usize).copied())
                                .flatten()
                                .flatten();
                            scopes.last_mut().expect("a scope").push(m);
                        }
                        ComponentAlias::InstanceExport {
                            kind: ComponentExternalKind::Module,
                            ..
                        } => scopes.last_mut().expect("a scope").push(None),
                        _ => {}
                    }
                }
            }
            Payload::InstanceSection(reader) => {
                for instance in reader.clone() {
                    let module = match instance.map_err(|e| parse(input, path, base, e))? {
                        Instance::Instantiate { module_index, .. } => scopes
                            .last()
                            .and_then(|s| s.get(module_index as usize).copied())
                            .flatten(),
                        Instance::FromExports(_) => None,
                    };
                    instances.push(module);
                }
            }
            // A module passed to a component or exported: all of it is seen.
            Payload::ComponentInstanceSection(reader) => {
                for instance in reader.clone() {
                    if let wasmparser::ComponentInstance::Instantiate { args, .. } =
                        instance.map_err(|e| parse(input, path, base, e))?
                    {
                        for a in args.iter().filter(|a| a.kind == ComponentExternalKind::Module) {
                            everything(scopes, a.index, out);
                        }
                    }
                }
            }
            Payload::ComponentExportSection(reader) => {
                for export in reader.clone() {
                    let export = export.map_err(|e| parse(input, path, base, e))?;
                    if export.kind == ComponentExternalKind::Module {
                        everything(scopes, export.index, out);
                        // An export is a new index of its sort.
                        let space = scopes.last_mut().expect("a scope");
                        let m = space.get(export.index as usize).copied().flatten();
                        space.push(m);
                    }
                }
            }
            _ => {}
        }
    }
    scopes.pop();
    Ok(())
}

/// Marks every export of the current scope's module `index` as needed.
fn everything(scopes: &[ModuleSpace], index: u32, out: &mut Modules) {
    if let Some(Some(k)) = scopes.last().and_then(|s| s.get(index as usize)) {
        out.list[*k].all_used = true;
    }
}

fn parse(input: &str, path: &str, base: usize, e: wasmparser::BinaryReaderError) -> Problem {
    let offset = base as u64 + e.offset();
    Problem {
        offset: Some(offset),
        ..Problem::read(input, display(path).as_str(), e)
    }
}

/// A place in words: the top level is `the component`; a deep path keeps
/// its two first and two last steps.
fn display(path: &str) -> String {
    let steps: Vec<&str> = path.split('/').collect();
    match steps.len() {
        _ if path.is_empty() => "the component".to_string(),
        0..=5 => path.to_string(),
        n => format!(
            "{}/{}/…/{}/{} ({n} levels)",
            steps[0],
            steps[1],
            steps[n - 2],
            steps[n - 1]
        ),
    }
}

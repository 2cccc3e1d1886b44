//! What a composition reports: its wires, the core modules its children
//! share, and [`ComposeMap`], the JSON `weld compose --map` writes (a
//! toolchain embedding weld gets the same bytes from [`ComposeMap::to_json`]).
//!
//! Input: the wiring and the hoisting decisions. Output: plain data, no
//! decisions. Cost: O(children + imports + shared modules).

use serde::ser::SerializeStruct;

use weld_format::{InputId, Inputs};

use super::hoist::HoistedModule;
use super::wire::{Children, Source, Wiring};

/// A core module defined once in the composed component for the children
/// that share it.
///
/// Its fields are declared in the map's key order (alphabetical).
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireReport {
    /// The importing child.
    pub importer: String,
    /// The import.
    pub import: String,
    /// The providing child.
    pub provider: String,
    /// The export.
    pub export: String,
    /// How it matched: `exact`, `semver`, `wiring`, or `instance` (the
    /// whole instance of `provider` is the argument; `export` is empty).
    pub rule: String,
}

impl serde::Serialize for WireReport {
    /// The keys in alphabetical order, as the map has always written them.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut w = s.serialize_struct("WireReport", 5)?;
        w.serialize_field("export", &self.export)?;
        w.serialize_field("import", &self.import)?;
        w.serialize_field("importer", &self.importer)?;
        w.serialize_field("provider", &self.provider)?;
        w.serialize_field("rule", &self.rule)?;
        w.end()
    }
}

/// What `weld compose --map` writes, borrowed from a
/// [`Composed`](super::Composed) (see [`Composed::map`](super::Composed::map)).
///
/// Its fields are declared in the map's key order (alphabetical).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ComposeMap<'c> {
    /// Distinct children embedded (each once).
    pub embedded: usize,
    /// Core modules shared by several children, defined once.
    pub hoisted: &'c [HoistReport],
    /// The imports of the result.
    pub imports: &'c [String],
    /// Children in instantiation order.
    pub order: &'c [String],
    /// Every wire.
    pub wires: &'c [WireReport],
}

impl ComposeMap<'_> {
    /// The map as pretty-printed JSON, the bytes `weld compose --map` writes.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("strings, numbers and lists always serialise")
    }
}

/// Every wire, importers in instantiation order, imports in each one's order.
pub fn wires(children: &Children<'_>, wiring: &Wiring) -> Vec<WireReport> {
    let mut wires = Vec::new();
    for &c in &wiring.order {
        for (k, (&import, _)) in children[c].imports.iter().enumerate() {
            let (provider, export, rule) = match &wiring.sources(c)[k] {
                Source::Wire {
                    provider,
                    export,
                    rule,
                } => (provider, export.clone(), rule.to_string()),
                Source::Instance { provider } => (provider, String::new(), "instance".to_string()),
                Source::Outer(_) | Source::OuterExport { .. } => continue,
            };
            wires.push(WireReport {
                importer: children[c].name.to_string(),
                import: import.to_string(),
                provider: children[*provider].name.to_string(),
                export,
                rule,
            });
        }
    }
    wires
}

/// The shared core modules, each with the children that use it (named by
/// the first input of each content).
pub fn hoisted(modules: &[HoistedModule<'_>], inputs: &Inputs, first_input: &[InputId]) -> Vec<HoistReport> {
    modules
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
        .collect()
}

/// The warnings for children given but not instantiated.
pub fn unused(children: &Children<'_>, wiring: &Wiring) -> Vec<String> {
    wiring
        .unused
        .iter()
        .map(|&i| format!("{}: nothing imports from it; not instantiated", children[i].name))
        .collect()
}

//! `weld inspect` and `weld hash`: a survey and digests as a report.

use serde::Serialize;
use weld_format::digest::{blake3, sha256};
use weld_format::names::{canonical_hash_name, hex, oci_digest};
use weld_format::sections::{COMPONENT_SECTIONS, MODULE_SECTIONS};
use weld_format::survey::{ComponentSurvey, ModuleSurvey, SectionSpan, SpaceCounts};
use weld_format::{Input, Survey};

use crate::Error;

/// The digests of one file.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct HashReport {
    /// `sha256:<hex>`, the OCI digest (equal to `sha256sum`).
    pub sha256: String,
    /// blake3, hex.
    pub blake3: String,
    /// The canonical hash name, `sha256-<hex>`.
    pub canonical_name: String,
    /// The size in bytes.
    pub size: u64,
}

/// Digests of some bytes.
///
/// ```
/// let r = weld_linker::hash(b"abc");
/// assert_eq!(r.sha256, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
/// assert_eq!(r.canonical_name, "sha256-ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
/// ```
pub fn hash(bytes: &[u8]) -> HashReport {
    let (s, b) = rayon::join(|| sha256(bytes), || blake3(bytes));
    HashReport {
        sha256: oci_digest(&s),
        blake3: hex(&b),
        canonical_name: canonical_hash_name(&s),
        size: bytes.len() as u64,
    }
}

/// Digests of an input, after checking that it is a well-formed module or
/// component (a canonical name is only handed out for one).
pub fn hash_input(input: &Input) -> Result<HashReport, Error> {
    weld_format::survey(&input.display, input.bytes())?;
    Ok(hash(input.bytes()))
}

/// One section.
#[derive(Debug, Clone, Serialize)]
pub struct SectionReport {
    /// Section id.
    pub id: u8,
    /// Its name (custom sections) or the standard name.
    pub name: String,
    /// Absolute offset of the id byte.
    pub offset: u64,
    /// Size including the header.
    pub size: u64,
}

/// Counts per core index space.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Counts {
    /// Functions.
    pub funcs: u32,
    /// Tables.
    pub tables: u32,
    /// Memories.
    pub memories: u32,
    /// Globals.
    pub globals: u32,
    /// Tags.
    pub tags: u32,
}

impl From<SpaceCounts> for Counts {
    fn from(c: SpaceCounts) -> Self {
        Counts {
            funcs: c.funcs,
            tables: c.tables,
            memories: c.memories,
            globals: c.globals,
            tags: c.tags,
        }
    }
}

/// A core import.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    /// Module name.
    pub module: String,
    /// Field name.
    pub name: String,
    /// `func`, `table`, ...
    pub kind: &'static str,
    /// The type, WAT-like.
    pub ty: String,
}

/// An export.
#[derive(Debug, Clone, Serialize)]
pub struct ExportReport {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: &'static str,
    /// Index in its space.
    pub index: u32,
}

/// What a core module holds.
#[derive(Debug, Clone, Serialize)]
pub struct ModuleReport {
    /// Sections in file order.
    pub sections: Vec<SectionReport>,
    /// Number of types.
    pub types: usize,
    /// Number of recursion groups.
    pub rec_groups: usize,
    /// Items added by imports, per space.
    pub imported: Counts,
    /// Items defined, per space.
    pub defined: Counts,
    /// All items, per space.
    pub total: Counts,
    /// Imports.
    pub imports: Vec<ImportReport>,
    /// Exports.
    pub exports: Vec<ExportReport>,
    /// The start function.
    pub start: Option<u32>,
    /// Element segments.
    pub elements: usize,
    /// Data segments.
    pub data: usize,
    /// Custom sections: name and size.
    pub customs: Vec<(String, usize)>,
}

/// A nested item of a component.
#[derive(Debug, Clone, Serialize)]
pub struct NestedReport<T> {
    /// Index in its space.
    pub index: u32,
    /// Absolute offset of its bytes.
    pub offset: u64,
    /// Its size.
    pub size: u64,
    /// What it holds.
    pub report: T,
}

/// A component import.
#[derive(Debug, Clone, Serialize)]
pub struct ComponentImportReport {
    /// The extern name.
    pub name: String,
    /// The kind.
    pub kind: &'static str,
    /// The `external-id` attribute, if present.
    pub external_id: Option<String>,
}

/// What a component holds.
#[derive(Debug, Clone, Serialize)]
pub struct ComponentReport {
    /// Sections in file order.
    pub sections: Vec<SectionReport>,
    /// Items per index space.
    pub counts: std::collections::BTreeMap<&'static str, u32>,
    /// Imports.
    pub imports: Vec<ComponentImportReport>,
    /// Exports.
    pub exports: Vec<ExportReport>,
    /// Nested core modules.
    pub modules: Vec<NestedReport<ModuleReport>>,
    /// Nested components.
    pub components: Vec<NestedReport<ComponentReport>>,
    /// Custom sections: name and size.
    pub customs: Vec<(String, usize)>,
}

/// The survey of one input as a report.
#[derive(Debug, Clone, Serialize)]
pub struct InspectReport {
    /// The input's name.
    pub name: String,
    /// Its path or display name.
    pub file: String,
    /// `module` or `component`.
    pub kind: String,
    /// Size in bytes.
    pub size: u64,
    /// Present for modules.
    pub module: Option<ModuleReport>,
    /// Present for components.
    pub component: Option<ComponentReport>,
}

/// Surveys one input and reports what it holds.
///
/// ```
/// use weld_format::Inputs;
/// let inputs = Inputs::from_memory([("m", br#"(module (import "env" "f" (func)) (func (export "g")))"#.to_vec())]).unwrap();
/// let r = weld_linker::inspect(inputs.iter().next().unwrap()).unwrap();
/// let m = r.module.unwrap();
/// assert_eq!((m.imports.len(), m.exports.len(), m.total.funcs), (1, 1, 2));
/// ```
pub fn inspect(input: &Input) -> Result<InspectReport, Error> {
    let survey = weld_format::survey(&input.display, input.bytes())?;
    let (module, component) = match &survey {
        Survey::Module(m) => (Some(module_report(m)), None),
        Survey::Component(c) => (None, Some(component_report(c))),
    };
    Ok(InspectReport {
        name: input.name.clone(),
        file: input.display.clone(),
        kind: input.kind.to_string(),
        size: input.bytes().len() as u64,
        module,
        component,
    })
}

fn sections(spans: &[SectionSpan<'_>], names: &[&str]) -> Vec<SectionReport> {
    spans
        .iter()
        .map(|s| SectionReport {
            id: s.id,
            name: match s.name {
                Some(n) => n.to_string(),
                None => names.get(s.id as usize).copied().unwrap_or("unknown").to_string(),
            },
            offset: s.range.start,
            size: s.range.end - s.range.start,
        })
        .collect()
}

fn module_report(m: &ModuleSurvey<'_>) -> ModuleReport {
    let total = m.counts();
    let defined = SpaceCounts {
        funcs: m.bodies.len() as u32,
        tables: m.tables.len() as u32,
        memories: m.memories.len() as u32,
        globals: m.globals.len() as u32,
        tags: m.tags.len() as u32,
    };
    ModuleReport {
        sections: sections(&m.sections, &MODULE_SECTIONS),
        types: m.types.len(),
        rec_groups: m.rec_groups.len(),
        imported: m.imported.into(),
        defined: defined.into(),
        total: total.into(),
        imports: m
            .imports
            .iter()
            .map(|i| ImportReport {
                module: i.module.to_string(),
                name: i.name.to_string(),
                kind: weld_format::wat::type_ref_kind(&i.ty),
                ty: weld_format::wat::type_ref(&i.ty, &m.types),
            })
            .collect(),
        exports: m
            .exports
            .iter()
            .map(|e| ExportReport {
                name: e.name.to_string(),
                kind: weld_format::wat::core_kind(e.kind),
                index: e.index,
            })
            .collect(),
        start: m.start.map(|f| f.raw()),
        elements: m.elements.len(),
        data: m.data.len(),
        customs: m
            .customs
            .iter()
            .map(|c| (c.name.to_string(), c.data.len()))
            .collect(),
    }
}

fn component_report(c: &ComponentSurvey<'_>) -> ComponentReport {
    let k = &c.counts;
    let counts = [
        ("core modules", k.core_modules),
        ("core instances", k.core_instances),
        ("core types", k.core_types),
        ("core funcs", k.core_funcs),
        ("core tables", k.core_tables),
        ("core memories", k.core_memories),
        ("core globals", k.core_globals),
        ("core tags", k.core_tags),
        ("components", k.components),
        ("instances", k.instances),
        ("funcs", k.funcs),
        ("values", k.values),
        ("types", k.types),
    ]
    .into_iter()
    .collect();
    ComponentReport {
        sections: sections(&c.sections, &COMPONENT_SECTIONS),
        counts,
        imports: c
            .imports
            .iter()
            .map(|i| ComponentImportReport {
                name: i.name.name.to_string(),
                kind: weld_format::wat::ComponentKind::of_import(&i.ty).name(),
                external_id: i.name.external_id.map(str::to_string),
            })
            .collect(),
        exports: c
            .exports
            .iter()
            .map(|e| ExportReport {
                name: e.name.name.to_string(),
                kind: weld_format::wat::ComponentKind::of_export(e.kind).name(),
                index: e.index,
            })
            .collect(),
        modules: c
            .modules
            .iter()
            .map(|n| NestedReport {
                index: n.index,
                offset: n.range.start,
                size: n.range.end - n.range.start,
                report: module_report(&n.survey),
            })
            .collect(),
        components: c
            .components
            .iter()
            .map(|n| NestedReport {
                index: n.index,
                offset: n.range.start,
                size: n.range.end - n.range.start,
                report: component_report(&n.survey),
            })
            .collect(),
        customs: c
            .customs
            .iter()
            .map(|x| (x.name.to_string(), x.data.len()))
            .collect(),
    }
}

impl InspectReport {
    /// A plain-text rendering: summary first, then every import and export.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{} ({}): {}, {} bytes\n",
            self.file, self.name, self.kind, self.size
        );
        if let Some(m) = &self.module {
            module_text(&mut s, m, "");
        }
        if let Some(c) = &self.component {
            component_text(&mut s, c, "");
        }
        s
    }
}

fn sections_text(s: &mut String, secs: &[SectionReport], ind: &str) {
    s.push_str(&format!("{ind}sections: {}\n", secs.len()));
    for x in secs {
        s.push_str(&format!(
            "{ind}  {:<14} at {:#010x}, {} bytes\n",
            x.name, x.offset, x.size
        ));
    }
}

fn module_text(s: &mut String, m: &ModuleReport, ind: &str) {
    sections_text(s, &m.sections, ind);
    let c = |x: &Counts| {
        format!(
            "funcs {}, tables {}, memories {}, globals {}, tags {}",
            x.funcs, x.tables, x.memories, x.globals, x.tags
        )
    };
    s.push_str(&format!(
        "{ind}types: {} in {} rec groups\n",
        m.types, m.rec_groups
    ));
    s.push_str(&format!("{ind}imported: {}\n", c(&m.imported)));
    s.push_str(&format!("{ind}defined:  {}\n", c(&m.defined)));
    s.push_str(&format!("{ind}total:    {}\n", c(&m.total)));
    s.push_str(&format!(
        "{ind}element segments: {}, data segments: {}\n",
        m.elements, m.data
    ));
    if let Some(f) = m.start {
        s.push_str(&format!("{ind}start: func {f}\n"));
    }
    s.push_str(&format!("{ind}imports: {}\n", m.imports.len()));
    for i in &m.imports {
        s.push_str(&format!("{ind}  {}.{}: {}\n", i.module, i.name, i.ty));
    }
    s.push_str(&format!("{ind}exports: {}\n", m.exports.len()));
    for e in &m.exports {
        s.push_str(&format!("{ind}  {}: {} {}\n", e.name, e.kind, e.index));
    }
    for (name, size) in &m.customs {
        s.push_str(&format!("{ind}custom section {name}: {size} bytes\n"));
    }
}

fn component_text(s: &mut String, c: &ComponentReport, ind: &str) {
    sections_text(s, &c.sections, ind);
    let counts: Vec<String> = c
        .counts
        .iter()
        .filter(|(_, v)| **v > 0)
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    s.push_str(&format!("{ind}index spaces: {}\n", counts.join(", ")));
    s.push_str(&format!("{ind}imports: {}\n", c.imports.len()));
    for i in &c.imports {
        let id = i
            .external_id
            .as_deref()
            .map(|x| format!(" (external-id {x})"))
            .unwrap_or_default();
        s.push_str(&format!("{ind}  {}: {}{id}\n", i.name, i.kind));
    }
    s.push_str(&format!("{ind}exports: {}\n", c.exports.len()));
    for e in &c.exports {
        s.push_str(&format!("{ind}  {}: {} {}\n", e.name, e.kind, e.index));
    }
    let deeper = format!("{ind}    ");
    for m in &c.modules {
        s.push_str(&format!(
            "{ind}  core module {} at {:#x}, {} bytes\n",
            m.index, m.offset, m.size
        ));
        module_text(s, &m.report, &deeper);
    }
    for n in &c.components {
        s.push_str(&format!(
            "{ind}  component {} at {:#x}, {} bytes\n",
            n.index, n.offset, n.size
        ));
        component_text(s, &n.report, &deeper);
    }
    for (name, size) in &c.customs {
        s.push_str(&format!("{ind}custom section {name}: {size} bytes\n"));
    }
}

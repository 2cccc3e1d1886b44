//! Stage 2, **survey**: one input's bytes → [`Survey`], in one zero-copy pass.
//!
//! The survey records where everything is and what it is: section byte ranges,
//! types, imports, exports, per-space counts, start, custom sections, segments
//! and function bodies (as ranges, never decoded), and for components the nested
//! modules and components (recursively, with their own surveys) and the
//! instance/alias structure. Every `&'a` borrows from the input's mapping; the
//! only allocations are the vectors that list items.
//!
//! Invariants: all offsets are absolute in the input file; every section seen
//! is in `sections` in file order; structure is checked (every section's items
//! parse, function and code counts agree), semantics are not (that is the
//! validator's job). Cost: O(items); bodies, constant expressions and custom
//! section contents are not read.

use std::ops::Range;

use rayon::prelude::*;

use wasmparser::{
    CanonicalFunction, ComponentAlias, ComponentExport, ComponentExternalKind, ComponentImport,
    ComponentInstance, ComponentOuterAliasKind, ComponentTypeRef, Data, Element, Encoding, Export,
    ExternalKind, FunctionBody, Global, Import, Instance, MemoryType, Parser, Payload, SubType, Table,
    TagType, TypeRef,
};

use crate::error::Problem;
use crate::index::{FuncIdx, TypeIdx};
use crate::limits::MAX_NESTING;
use crate::sections::{COMPONENT_SECTIONS, MODULE_SECTIONS};

/// One section, as found in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionSpan<'a> {
    /// The section id (0 for custom sections).
    pub id: u8,
    /// The name of a custom section.
    pub name: Option<&'a str>,
    /// From the id byte to the end of the section.
    pub range: Range<u64>,
}

/// A custom section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Custom<'a> {
    /// Its name.
    pub name: &'a str,
    /// Its payload.
    pub data: &'a [u8],
    /// The absolute offset of its payload.
    pub data_offset: u64,
}

impl<'a> Custom<'a> {
    /// The custom section wasmparser read.
    fn of(c: &wasmparser::CustomSectionReader<'a>) -> Custom<'a> {
        Custom {
            name: c.name(),
            data: c.data(),
            data_offset: c.data_offset(),
        }
    }
}

/// A section whose id neither a module nor a component has.
fn unknown_section(input: &str, id: u8, at: u64) -> Problem {
    Problem::at(input, format!("section {id}"), Some(at), "unknown section id")
}

/// Counts per core index space.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpaceCounts {
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

impl SpaceCounts {
    fn add(&mut self, ty: &TypeRef) {
        match ty {
            TypeRef::Func(_) | TypeRef::FuncExact(_) => self.funcs += 1,
            TypeRef::Table(_) => self.tables += 1,
            TypeRef::Memory(_) => self.memories += 1,
            TypeRef::Global(_) => self.globals += 1,
            TypeRef::Tag(_) => self.tags += 1,
        }
    }
}

/// A recursion group: a run of types in the type space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecGroupSpan {
    /// The first type index of the group.
    pub start: u32,
    /// How many types it holds.
    pub len: u32,
    /// Whether it was written as an explicit `rec` group.
    pub explicit: bool,
}

/// The survey of one core module.
#[derive(Clone)]
pub struct ModuleSurvey<'a> {
    /// The module's own bytes (a sub-slice of the input when nested).
    pub bytes: &'a [u8],
    /// The absolute offset of `bytes[0]` in the input.
    pub base: u64,
    /// Every section in file order.
    pub sections: Vec<SectionSpan<'a>>,
    /// Every type, flattened out of its recursion group.
    pub types: Vec<SubType>,
    /// The recursion groups, in order, covering `types`.
    pub rec_groups: Vec<RecGroupSpan>,
    /// Imports in order (compact encodings flattened).
    pub imports: Vec<Import<'a>>,
    /// The type of every function: imported ones first, then defined ones.
    pub func_types: Vec<TypeIdx>,
    /// Defined tables.
    pub tables: Vec<Table<'a>>,
    /// Defined memories.
    pub memories: Vec<MemoryType>,
    /// Defined globals.
    pub globals: Vec<Global<'a>>,
    /// Defined tags.
    pub tags: Vec<TagType>,
    /// Exports in order.
    pub exports: Vec<Export<'a>>,
    /// The start function.
    pub start: Option<FuncIdx>,
    /// Element segments.
    pub elements: Vec<Element<'a>>,
    /// Data segments.
    pub data: Vec<Data<'a>>,
    /// The data count section's value, if present.
    pub data_count: Option<u32>,
    /// Function bodies (ranges into the input; operators not decoded).
    pub bodies: Vec<FunctionBody<'a>>,
    /// Custom sections in order.
    pub customs: Vec<Custom<'a>>,
    /// What the imports add to each space.
    pub imported: SpaceCounts,
}

impl std::fmt::Debug for ModuleSurvey<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModuleSurvey")
            .field("base", &self.base)
            .field("len", &self.bytes.len())
            .field("types", &self.types.len())
            .field("imports", &self.imports.len())
            .field("counts", &self.counts())
            .field("exports", &self.exports.len())
            .field("elements", &self.elements.len())
            .field("data", &self.data.len())
            .finish()
    }
}

impl<'a> ModuleSurvey<'a> {
    /// Where the first standard section `id` starts (its id byte), or the
    /// end of the input when there is none: the offset an error about an
    /// item of that section names when the item's own is not kept.
    pub fn section_start(&self, id: u8) -> u64 {
        match self.sections.iter().find(|s| s.id == id && s.name.is_none()) {
            Some(s) => s.range.start,
            None => self.sections.last().map_or(0, |s| s.range.end),
        }
    }

    /// Totals per space (imports plus definitions).
    pub fn counts(&self) -> SpaceCounts {
        SpaceCounts {
            funcs: self.func_types.len() as u32,
            tables: self.imported.tables + self.tables.len() as u32,
            memories: self.imported.memories + self.memories.len() as u32,
            globals: self.imported.globals + self.globals.len() as u32,
            tags: self.imported.tags + self.tags.len() as u32,
        }
    }

    /// The export with this name, if any.
    pub fn export(&self, name: &str) -> Option<&Export<'a>> {
        self.exports.iter().find(|e| e.name == name)
    }

    /// The custom section with this name, if any.
    pub fn custom(&self, name: &str) -> Option<&Custom<'a>> {
        self.customs.iter().find(|c| c.name == name)
    }
}

/// Counts per component index space.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ComponentCounts {
    /// Core modules.
    pub core_modules: u32,
    /// Core instances.
    pub core_instances: u32,
    /// Core types.
    pub core_types: u32,
    /// Core functions.
    pub core_funcs: u32,
    /// Core tables.
    pub core_tables: u32,
    /// Core memories.
    pub core_memories: u32,
    /// Core globals.
    pub core_globals: u32,
    /// Core tags.
    pub core_tags: u32,
    /// Components.
    pub components: u32,
    /// Component instances.
    pub instances: u32,
    /// Component functions.
    pub funcs: u32,
    /// Values.
    pub values: u32,
    /// Component types.
    pub types: u32,
}

impl ComponentCounts {
    fn add_kind(&mut self, kind: ComponentExternalKind) {
        match kind {
            ComponentExternalKind::Module => self.core_modules += 1,
            ComponentExternalKind::Func => self.funcs += 1,
            ComponentExternalKind::Value => self.values += 1,
            ComponentExternalKind::Type => self.types += 1,
            ComponentExternalKind::Instance => self.instances += 1,
            ComponentExternalKind::Component => self.components += 1,
        }
    }

    fn add_ref(&mut self, ty: &ComponentTypeRef) {
        self.add_kind(match ty {
            ComponentTypeRef::Module(_) => ComponentExternalKind::Module,
            ComponentTypeRef::Func(_) => ComponentExternalKind::Func,
            ComponentTypeRef::Value(_) => ComponentExternalKind::Value,
            ComponentTypeRef::Type(_) => ComponentExternalKind::Type,
            ComponentTypeRef::Instance(_) => ComponentExternalKind::Instance,
            ComponentTypeRef::Component(_) => ComponentExternalKind::Component,
        })
    }

    fn add_core(&mut self, kind: ExternalKind) {
        match kind {
            ExternalKind::Func | ExternalKind::FuncExact => self.core_funcs += 1,
            ExternalKind::Table => self.core_tables += 1,
            ExternalKind::Memory => self.core_memories += 1,
            ExternalKind::Global => self.core_globals += 1,
            ExternalKind::Tag => self.core_tags += 1,
        }
    }
}

/// A core module nested in a component.
#[derive(Debug, Clone)]
pub struct NestedModule<'a> {
    /// Its index in the parent's core module space.
    pub index: u32,
    /// Its bytes' absolute range (the module section's contents).
    pub range: Range<u64>,
    /// Its survey.
    pub survey: ModuleSurvey<'a>,
}

/// A component nested in a component.
#[derive(Debug, Clone)]
pub struct NestedComponent<'a> {
    /// Its index in the parent's component space.
    pub index: u32,
    /// Its bytes' absolute range (the component section's contents).
    pub range: Range<u64>,
    /// Its survey.
    pub survey: Box<ComponentSurvey<'a>>,
}

/// The survey of one component.
#[derive(Debug, Clone)]
pub struct ComponentSurvey<'a> {
    /// The component's own bytes.
    pub bytes: &'a [u8],
    /// The absolute offset of `bytes[0]` in the input.
    pub base: u64,
    /// Every section in file order.
    pub sections: Vec<SectionSpan<'a>>,
    /// Imports in order.
    pub imports: Vec<ComponentImport<'a>>,
    /// Exports in order.
    pub exports: Vec<ComponentExport<'a>>,
    /// Nested core modules, in index order.
    pub modules: Vec<NestedModule<'a>>,
    /// Nested components, in index order.
    pub components: Vec<NestedComponent<'a>>,
    /// Core instances, in index order of those defined by instance sections.
    pub core_instances: Vec<Instance<'a>>,
    /// Component instances defined by instance sections.
    pub instances: Vec<ComponentInstance<'a>>,
    /// Aliases in order.
    pub aliases: Vec<ComponentAlias<'a>>,
    /// Custom sections in order.
    pub customs: Vec<Custom<'a>>,
    /// Items per index space.
    pub counts: ComponentCounts,
}

/// The survey of one input.
#[derive(Debug, Clone)]
pub enum Survey<'a> {
    /// A core module.
    Module(ModuleSurvey<'a>),
    /// A component.
    Component(ComponentSurvey<'a>),
}

impl<'a> Survey<'a> {
    /// The module survey, if this is a module.
    pub fn as_module(&self) -> Option<&ModuleSurvey<'a>> {
        match self {
            Survey::Module(m) => Some(m),
            Survey::Component(_) => None,
        }
    }

    /// The component survey, if this is a component.
    pub fn as_component(&self) -> Option<&ComponentSurvey<'a>> {
        match self {
            Survey::Component(c) => Some(c),
            Survey::Module(_) => None,
        }
    }
}

/// Surveys every input in parallel, in input order. The first malformed input
/// (in input order) is the error.
pub fn survey_all(inputs: &crate::Inputs) -> Result<Vec<Survey<'_>>, Problem> {
    let items: Vec<_> = inputs.iter().collect();
    items
        .par_iter()
        .map(|i| survey(&i.display, i.bytes()))
        .collect::<Vec<_>>()
        .into_iter()
        .collect()
}

/// Surveys one input. `input` names it in errors.
pub fn survey<'a>(input: &str, bytes: &'a [u8]) -> Result<Survey<'a>, Problem> {
    let parser = Parser::new(0);
    if Parser::is_component(bytes) {
        Ok(Survey::Component(survey_component(input, bytes, 0, parser, 0)?))
    } else {
        Ok(Survey::Module(survey_module(input, bytes, 0, parser)?))
    }
}

/// Drives a parser over `bytes` (which start at absolute offset `base`),
/// handing each payload with the absolute start of its section to `visit`.
/// Nested modules and components are skipped over after `visit` sees them.
/// A parse error names the section it is in (`code section`, from
/// `sections`, the names by id), or `header` before the first one.
fn drive<'a>(
    input: &str,
    bytes: &'a [u8],
    base: u64,
    mut parser: Parser,
    sections: &[&str],
    mut visit: impl FnMut(u64, Payload<'a>) -> Result<(), Problem>,
) -> Result<(), Problem> {
    let mut data = bytes;
    let mut pos = base;
    // The code section's range, once its start is read: its entries come
    // one payload each, after the section's header.
    let mut code: Option<std::ops::Range<u64>> = None;
    loop {
        let chunk = parser.parse(data, true).map_err(|e| {
            let item = match (&code, data.first()) {
                (Some(r), _) if r.contains(&e.offset()) => "code section".to_string(),
                _ if pos == base => "header".to_string(),
                (_, Some(&id)) => format!(
                    "{} section",
                    sections.get(id as usize).copied().unwrap_or("unknown")
                ),
                (_, None) => "section".to_string(),
            };
            Problem::read(input, item, e)
        })?;
        let (consumed, payload) = match chunk {
            wasmparser::Chunk::Parsed { consumed, payload } => (consumed, payload),
            wasmparser::Chunk::NeedMoreData(_) => {
                return Err(Problem::at(
                    input,
                    "section",
                    Some(pos),
                    "unexpected end of input",
                ));
            }
        };
        let start = pos;
        data = &data[consumed..];
        pos += consumed as u64;
        if let Payload::CodeSectionStart { unchecked_range, .. } = &payload {
            code = Some(unchecked_range.clone());
        }
        // Nested modules and components: the parent parser has already moved
        // past them; skip their bytes here.
        let skip = match &payload {
            Payload::ModuleSection { unchecked_range, .. }
            | Payload::ComponentSection { unchecked_range, .. } => {
                let len = unchecked_range.end - unchecked_range.start;
                if len > data.len() as u64 {
                    return Err(Problem::at(
                        input,
                        "nested module or component",
                        Some(unchecked_range.start),
                        "section extends past the end of the input",
                    ));
                }
                len as usize
            }
            _ => 0,
        };
        let done = matches!(payload, Payload::End(_));
        visit(start, payload)?;
        data = &data[skip..];
        pos += skip as u64;
        if done {
            return Ok(());
        }
    }
}

/// Reads every item of a section, mapping errors to the section's name.
fn read_all<'a, T: wasmparser::FromReader<'a>>(
    input: &str,
    what: &str,
    reader: wasmparser::SectionLimited<'a, T>,
    mut each: impl FnMut(T),
) -> Result<(), Problem> {
    for item in reader {
        each(item.map_err(|e| Problem::read(input, what, e))?);
    }
    Ok(())
}

fn survey_module<'a>(
    input: &str,
    bytes: &'a [u8],
    base: u64,
    parser: Parser,
) -> Result<ModuleSurvey<'a>, Problem> {
    let mut m = ModuleSurvey {
        bytes,
        base,
        sections: Vec::new(),
        types: Vec::new(),
        rec_groups: Vec::new(),
        imports: Vec::new(),
        func_types: Vec::new(),
        tables: Vec::new(),
        memories: Vec::new(),
        globals: Vec::new(),
        tags: Vec::new(),
        exports: Vec::new(),
        start: None,
        elements: Vec::new(),
        data: Vec::new(),
        data_count: None,
        bodies: Vec::new(),
        customs: Vec::new(),
        imported: SpaceCounts::default(),
    };
    drive(input, bytes, base, parser, &MODULE_SECTIONS, |start, payload| {
        let mut span = |id: u8, name: Option<&'a str>, end: u64| {
            m.sections.push(SectionSpan {
                id,
                name,
                range: start..end,
            });
        };
        match payload {
            Payload::Version { encoding, .. } => {
                if encoding != Encoding::Module {
                    return Err(Problem::at(
                        input,
                        "header",
                        Some(start),
                        "expected a core module",
                    ));
                }
            }
            Payload::TypeSection(r) => {
                span(1, None, r.range().end);
                let mut groups = Vec::new();
                read_all(input, "type section", r, |g| groups.push(g))?;
                for g in groups {
                    let explicit = g.is_explicit_rec_group();
                    let first = m.types.len() as u32;
                    m.types.extend(g.into_types());
                    let len = m.types.len() as u32 - first;
                    m.rec_groups.push(RecGroupSpan {
                        start: first,
                        len,
                        explicit,
                    });
                }
            }
            Payload::ImportSection(r) => {
                span(2, None, r.range().end);
                for imp in r.into_imports() {
                    let imp = imp.map_err(|e| Problem::read(input, "import section", e))?;
                    m.imported.add(&imp.ty);
                    if let TypeRef::Func(t) | TypeRef::FuncExact(t) = imp.ty {
                        m.func_types.push(TypeIdx(t));
                    }
                    m.imports.push(imp);
                }
            }
            Payload::FunctionSection(r) => {
                span(3, None, r.range().end);
                read_all(input, "function section", r, |t| m.func_types.push(TypeIdx(t)))?;
            }
            Payload::TableSection(r) => {
                span(4, None, r.range().end);
                read_all(input, "table section", r, |t| m.tables.push(t))?;
            }
            Payload::MemorySection(r) => {
                span(5, None, r.range().end);
                read_all(input, "memory section", r, |t| m.memories.push(t))?;
            }
            Payload::TagSection(r) => {
                span(13, None, r.range().end);
                read_all(input, "tag section", r, |t| m.tags.push(t))?;
            }
            Payload::GlobalSection(r) => {
                span(6, None, r.range().end);
                read_all(input, "global section", r, |g| m.globals.push(g))?;
            }
            Payload::ExportSection(r) => {
                span(7, None, r.range().end);
                read_all(input, "export section", r, |e| m.exports.push(e))?;
            }
            Payload::StartSection { func, range } => {
                span(8, None, range.end);
                m.start = Some(FuncIdx(func));
            }
            Payload::ElementSection(r) => {
                span(9, None, r.range().end);
                read_all(input, "element section", r, |e| m.elements.push(e))?;
            }
            Payload::DataCountSection { count, range } => {
                span(12, None, range.end);
                m.data_count = Some(count);
            }
            Payload::DataSection(r) => {
                span(11, None, r.range().end);
                read_all(input, "data section", r, |d| m.data.push(d))?;
            }
            Payload::CodeSectionStart {
                unchecked_range,
                count,
                ..
            } => {
                span(10, None, unchecked_range.end);
                m.bodies.reserve(count.min(1 << 20) as usize);
            }
            Payload::CodeSectionEntry(body) => m.bodies.push(body),
            Payload::CustomSection(c) => {
                span(0, Some(c.name()), c.range().end);
                m.customs.push(Custom::of(&c));
            }
            Payload::End(_) => {}
            Payload::UnknownSection { id, range, .. } => return Err(unknown_section(input, id, range.start)),
            other => {
                return Err(Problem::at(
                    input,
                    "section",
                    Some(start),
                    format!("{} in a core module", section_id(&other, "a component section")),
                ));
            }
        }
        Ok(())
    })?;
    let defined = m.func_types.len() - m.imported.funcs as usize;
    if defined != m.bodies.len() {
        return Err(Problem::at(
            input,
            "code section",
            None,
            format!("{defined} functions declared but {} bodies", m.bodies.len()),
        ));
    }
    Ok(m)
}

fn survey_component<'a>(
    input: &str,
    bytes: &'a [u8],
    base: u64,
    parser: Parser,
    depth: usize,
) -> Result<ComponentSurvey<'a>, Problem> {
    if depth > MAX_NESTING {
        return Err(Problem::at(
            input,
            "nested component",
            Some(base),
            format!("nesting deeper than {MAX_NESTING} levels"),
        ));
    }
    let mut c = ComponentSurvey {
        bytes,
        base,
        sections: Vec::new(),
        imports: Vec::new(),
        exports: Vec::new(),
        modules: Vec::new(),
        components: Vec::new(),
        core_instances: Vec::new(),
        instances: Vec::new(),
        aliases: Vec::new(),
        customs: Vec::new(),
        counts: ComponentCounts::default(),
    };
    // The absolute start of this component's bytes is `base`; nested ranges
    // are absolute, so slice relative to it.
    let sub = |range: &Range<u64>| -> Result<&'a [u8], Problem> {
        let lo = range.start.checked_sub(base).map(|x| x as usize);
        let hi = range.end.checked_sub(base).map(|x| x as usize);
        match (lo, hi) {
            (Some(lo), Some(hi)) if lo <= hi && hi <= bytes.len() => Ok(&bytes[lo..hi]),
            _ => Err(Problem::at(
                input,
                "nested item",
                Some(range.start),
                "range outside the input",
            )),
        }
    };
    drive(
        input,
        bytes,
        base,
        parser,
        &COMPONENT_SECTIONS,
        |start, payload| {
            let mut span = |id: u8, name: Option<&'a str>, end: u64| {
                c.sections.push(SectionSpan {
                    id,
                    name,
                    range: start..end,
                });
            };
            match payload {
                Payload::Version { encoding, .. } => {
                    if encoding != Encoding::Component {
                        return Err(Problem::at(input, "header", Some(start), "expected a component"));
                    }
                }
                Payload::ModuleSection {
                    parser,
                    unchecked_range,
                } => {
                    span(1, None, unchecked_range.end);
                    let index = c.counts.core_modules;
                    let item = format!("nested module {index}");
                    let survey = survey_module(input, sub(&unchecked_range)?, unchecked_range.start, parser)
                        .map_err(|e| e.within(&item))?;
                    c.modules.push(NestedModule {
                        index,
                        range: unchecked_range,
                        survey,
                    });
                    c.counts.core_modules += 1;
                }
                Payload::ComponentSection {
                    parser,
                    unchecked_range,
                } => {
                    span(4, None, unchecked_range.end);
                    let index = c.counts.components;
                    let item = format!("nested component {index}");
                    let survey = survey_component(
                        input,
                        sub(&unchecked_range)?,
                        unchecked_range.start,
                        parser,
                        depth + 1,
                    )
                    .map_err(|e| e.within(&item))?;
                    c.components.push(NestedComponent {
                        index,
                        range: unchecked_range,
                        survey: Box::new(survey),
                    });
                    c.counts.components += 1;
                }
                Payload::InstanceSection(r) => {
                    span(2, None, r.range().end);
                    read_all(input, "core instance section", r, |i| {
                        c.core_instances.push(i);
                        c.counts.core_instances += 1;
                    })?;
                }
                Payload::CoreTypeSection(r) => {
                    span(3, None, r.range().end);
                    c.counts.core_types += r.count();
                    read_all(input, "core type section", r, |_| ())?;
                }
                Payload::ComponentInstanceSection(r) => {
                    span(5, None, r.range().end);
                    read_all(input, "instance section", r, |i| {
                        c.instances.push(i);
                        c.counts.instances += 1;
                    })?;
                }
                Payload::ComponentAliasSection(r) => {
                    span(6, None, r.range().end);
                    read_all(input, "alias section", r, |a| {
                        match a {
                            ComponentAlias::InstanceExport { kind, .. } => c.counts.add_kind(kind),
                            ComponentAlias::CoreInstanceExport { kind, .. } => c.counts.add_core(kind),
                            ComponentAlias::Outer { kind, .. } => match kind {
                                ComponentOuterAliasKind::CoreModule => c.counts.core_modules += 1,
                                ComponentOuterAliasKind::CoreType => c.counts.core_types += 1,
                                ComponentOuterAliasKind::Type => c.counts.types += 1,
                                ComponentOuterAliasKind::Component => c.counts.components += 1,
                            },
                        }
                        c.aliases.push(a);
                    })?;
                }
                Payload::ComponentTypeSection(r) => {
                    span(7, None, r.range().end);
                    c.counts.types += r.count();
                    read_all(input, "type section", r, |_| ())?;
                }
                Payload::ComponentCanonicalSection(r) => {
                    span(8, None, r.range().end);
                    read_all(input, "canonical section", r, |f| match f {
                        CanonicalFunction::Lift { .. } => c.counts.funcs += 1,
                        _ => c.counts.core_funcs += 1,
                    })?;
                }
                Payload::ComponentStartSection { range, .. } => {
                    span(9, None, range.end);
                    // A start function's results become values.
                }
                Payload::ComponentImportSection(r) => {
                    span(10, None, r.range().end);
                    read_all(input, "import section", r, |i| {
                        c.counts.add_ref(&i.ty);
                        c.imports.push(i);
                    })?;
                }
                Payload::ComponentExportSection(r) => {
                    span(11, None, r.range().end);
                    read_all(input, "export section", r, |e| {
                        c.counts.add_kind(e.kind);
                        c.exports.push(e);
                    })?;
                }
                Payload::CustomSection(cs) => {
                    span(0, Some(cs.name()), cs.range().end);
                    c.customs.push(Custom::of(&cs));
                }
                Payload::End(_) => {}
                Payload::UnknownSection { id, range, .. } => {
                    return Err(unknown_section(input, id, range.start))
                }
                other => {
                    return Err(Problem::at(
                        input,
                        "section",
                        Some(start),
                        format!("{} directly in a component", section_id(&other, "a core section")),
                    ));
                }
            }
            Ok(())
        },
    )?;
    Ok(c)
}

/// `section id 7`: the id of a section that may not stand where it
/// does (or `fallback` for a payload that is not a section), for errors.
fn section_id(p: &wasmparser::Payload<'_>, fallback: &str) -> String {
    match p.as_section() {
        Some((id, _)) => format!("section id {id}"),
        None => fallback.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(wat: &str) -> Vec<u8> {
        wat::parse_str(wat).unwrap()
    }

    #[test]
    fn surveys_module_spaces_and_items() {
        let bytes = module(
            r#"(module
                (import "env" "f" (func (param i32)))
                (import "env" "m" (memory 1))
                (global $g (mut i32) (i32.const 0))
                (table 2 funcref)
                (func $a (export "a") (result i32) i32.const 1)
                (func $b call $a drop)
                (elem (i32.const 0) func $a $b)
                (data (i32.const 8) "hi")
                (start $b))"#,
        );
        let s = survey("t", &bytes).unwrap();
        let m = s.as_module().unwrap();
        assert_eq!(m.imports.len(), 2);
        assert_eq!(
            m.counts(),
            SpaceCounts {
                funcs: 3,
                tables: 1,
                memories: 1,
                globals: 1,
                tags: 0
            }
        );
        assert_eq!(m.imported.funcs, 1);
        assert_eq!(m.bodies.len(), 2);
        assert_eq!(m.exports[0].name, "a");
        assert_eq!(m.start, Some(FuncIdx(2)));
        assert_eq!(m.elements.len(), 1);
        assert_eq!(m.data.len(), 1);
        // Section ranges tile the file after the 8-byte header.
        assert_eq!(m.sections.first().unwrap().range.start, 8);
        assert_eq!(m.sections.last().unwrap().range.end, bytes.len() as u64);
        for w in m.sections.windows(2) {
            assert_eq!(w[0].range.end, w[1].range.start);
        }
    }

    #[test]
    fn bodies_borrow_from_the_input() {
        let bytes = module("(module (func (result i32) i32.const 7))");
        let s = survey("t", &bytes).unwrap();
        let body = s.as_module().unwrap().bodies[0].as_bytes();
        let lo = bytes.as_ptr() as usize;
        let p = body.as_ptr() as usize;
        assert!(p >= lo && p + body.len() <= lo + bytes.len());
    }

    #[test]
    fn surveys_nested_component_structure() {
        let bytes = module(
            r#"(component
                (import "a:b/c@0.2.0" (instance $i (export "f" (func))))
                (core module $m (func (export "g")))
                (core instance $ci (instantiate $m))
                (component $inner (core module $n))
                (instance $x (instantiate $inner))
                (export "f" (func $i "f")))"#,
        );
        let s = survey("c", &bytes).unwrap();
        let c = s.as_component().unwrap();
        assert_eq!(c.imports.len(), 1);
        assert_eq!(c.imports[0].name.name, "a:b/c@0.2.0");
        assert_eq!(c.modules.len(), 1);
        assert_eq!(c.modules[0].survey.exports[0].name, "g");
        assert_eq!(c.components.len(), 1);
        assert_eq!(c.components[0].survey.modules.len(), 1);
        assert_eq!(c.counts.core_instances, 1);
        assert_eq!(c.counts.instances, 2);
        assert_eq!(c.counts.funcs, 2); // the alias and the export
        let nested = &c.components[0].survey.modules[0];
        assert_eq!(&bytes[nested.range.start as usize..][..4], b"\0asm");
    }

    #[test]
    fn truncated_module_is_an_error_with_offset() {
        let bytes = module("(module (func (export \"a\") (result i32) i32.const 1))");
        let full = survey("t", &bytes).unwrap();
        let ranges: Vec<std::ops::Range<u64>> = full
            .as_module()
            .unwrap()
            .sections
            .iter()
            .map(|s| s.range.clone())
            .collect();
        // Cutting between sections can leave a valid shorter module; cutting
        // inside a section never does.
        for cut in (9..bytes.len()).filter(|c| !ranges.iter().any(|r| r.end == *c as u64)) {
            let e = survey("t", &bytes[..cut]).unwrap_err();
            assert_eq!(e.input, "t");
            assert!(e.to_string().starts_with("t: "), "{e}");
            // The offset points into the section that was cut (or its
            // header, just before its contents), never past the cut.
            let at = e
                .offset
                .unwrap_or_else(|| panic!("cut at {cut}: no offset in {e}"));
            let section = ranges
                .iter()
                .find(|r| r.start <= cut as u64 && (cut as u64) < r.end)
                .map_or(8, |r| r.start.saturating_sub(6));
            assert!(
                (section..=cut as u64).contains(&at),
                "cut at {cut}: offset {at} in {e}"
            );
            assert!(e.to_string().ends_with(&format!("(at offset {at:#x})")), "{e}");
        }
    }
}

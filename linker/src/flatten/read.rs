//! Part of `flatten`: a component's top level → its items in order
//! ([`Items`]), each with the index it defines in its sort's index space.
//!
//! One pass with `wasmparser::Parser`; nested modules and components are
//! byte ranges of the input (their contents are not parsed here). Every
//! item borrows from the input. Cost: O(items).

use std::ops::Range;

use wasmparser::{
    CanonicalFunction, ComponentAlias, ComponentExport, ComponentExternalKind, ComponentImport,
    ComponentInstance, ComponentOuterAliasKind, ComponentStartFunction, ComponentType, ComponentTypeRef,
    CoreType, ExternalKind, Instance, Parser, Payload,
};

use crate::error::{FlattenError, Problem};

/// An index space of a component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Sort {
    CoreFunc,
    CoreTable,
    CoreMemory,
    CoreGlobal,
    CoreTag,
    CoreType,
    CoreModule,
    CoreInstance,
    Func,
    Value,
    Type,
    Instance,
    Component,
}

impl Sort {
    /// Every sort, in [`Sort::slot`] order.
    pub(crate) const ALL: [Sort; 13] = [
        Sort::CoreFunc,
        Sort::CoreTable,
        Sort::CoreMemory,
        Sort::CoreGlobal,
        Sort::CoreTag,
        Sort::CoreType,
        Sort::CoreModule,
        Sort::CoreInstance,
        Sort::Func,
        Sort::Value,
        Sort::Type,
        Sort::Instance,
        Sort::Component,
    ];

    /// Its position in [`Sort::ALL`].
    pub(crate) fn slot(self) -> usize {
        self as usize
    }

    /// The sort of a core item kind.
    pub(crate) fn of_core(kind: ExternalKind) -> Sort {
        match kind {
            ExternalKind::Func | ExternalKind::FuncExact => Sort::CoreFunc,
            ExternalKind::Table => Sort::CoreTable,
            ExternalKind::Memory => Sort::CoreMemory,
            ExternalKind::Global => Sort::CoreGlobal,
            ExternalKind::Tag => Sort::CoreTag,
        }
    }

    /// The sort of a component item kind.
    pub(crate) fn of_component(kind: ComponentExternalKind) -> Sort {
        match kind {
            ComponentExternalKind::Module => Sort::CoreModule,
            ComponentExternalKind::Func => Sort::Func,
            ComponentExternalKind::Value => Sort::Value,
            ComponentExternalKind::Type => Sort::Type,
            ComponentExternalKind::Instance => Sort::Instance,
            ComponentExternalKind::Component => Sort::Component,
        }
    }

    fn of_type_ref(ty: &ComponentTypeRef) -> Sort {
        match ty {
            ComponentTypeRef::Module(_) => Sort::CoreModule,
            ComponentTypeRef::Func(_) => Sort::Func,
            ComponentTypeRef::Value(_) => Sort::Value,
            ComponentTypeRef::Type(_) => Sort::Type,
            ComponentTypeRef::Instance(_) => Sort::Instance,
            ComponentTypeRef::Component(_) => Sort::Component,
        }
    }
}

impl std::fmt::Display for Sort {
    /// The sort as the text format names it (`core func`, `instance`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Sort::CoreFunc => "core func",
            Sort::CoreTable => "core table",
            Sort::CoreMemory => "core memory",
            Sort::CoreGlobal => "core global",
            Sort::CoreTag => "core tag",
            Sort::CoreType => "core type",
            Sort::CoreModule => "core module",
            Sort::CoreInstance => "core instance",
            Sort::Func => "func",
            Sort::Value => "value",
            Sort::Type => "type",
            Sort::Instance => "instance",
            Sort::Component => "component",
        })
    }
}

/// One item of a component's top level.
#[derive(Debug, Clone)]
pub(crate) enum Item<'a> {
    /// A core module: its bytes' range in the input.
    Module(Range<usize>),
    /// A nested component: its bytes' range in the input.
    Component(Range<usize>),
    CoreInstance(Instance<'a>),
    CoreType(CoreType<'a>),
    Instance(ComponentInstance<'a>),
    Alias(ComponentAlias<'a>),
    Type(ComponentType<'a>),
    Canon(CanonicalFunction),
    Import(ComponentImport<'a>),
    Export(ComponentExport<'a>),
    Start(ComponentStartFunction),
    /// A custom section: its name and contents.
    Custom {
        name: &'a str,
        data: &'a [u8],
    },
}

/// A component's top level.
#[derive(Debug)]
pub(crate) struct Items<'a> {
    /// The items in order.
    pub items: Vec<Item<'a>>,
    /// What each item defines: its sort and index (`None` for items that
    /// define nothing; a start's values are not tracked).
    pub defines: Vec<Option<(Sort, u32)>>,
    /// Each item's byte offset in the input.
    pub offsets: Vec<usize>,
    /// How many items each sort holds.
    pub counts: [u32; 13],
}

impl<'a> Items<'a> {
    fn push(&mut self, item: Item<'a>, sort: Option<Sort>, offset: usize) {
        let def = sort.map(|s| {
            let i = self.counts[s.slot()];
            self.counts[s.slot()] += 1;
            (s, i)
        });
        self.items.push(item);
        self.defines.push(def);
        self.offsets.push(offset);
    }
}

/// The sort an alias defines.
pub(crate) fn alias_sort(a: &ComponentAlias<'_>) -> Sort {
    match a {
        ComponentAlias::InstanceExport { kind, .. } => Sort::of_component(*kind),
        ComponentAlias::CoreInstanceExport { kind, .. } => Sort::of_core(*kind),
        ComponentAlias::Outer { kind, .. } => match kind {
            ComponentOuterAliasKind::CoreModule => Sort::CoreModule,
            ComponentOuterAliasKind::CoreType => Sort::CoreType,
            ComponentOuterAliasKind::Type => Sort::Type,
            ComponentOuterAliasKind::Component => Sort::Component,
        },
    }
}

/// The sort a canonical function defines.
fn canon_sort(c: &CanonicalFunction) -> Sort {
    match c {
        CanonicalFunction::Lift { .. } => Sort::Func,
        _ => Sort::CoreFunc,
    }
}

/// Reads the top level of component `bytes` (`file` names it in errors).
pub(crate) fn read<'a>(file: &str, bytes: &'a [u8]) -> Result<Items<'a>, FlattenError> {
    let bad = |e: wasmparser::BinaryReaderError| FlattenError::from(Problem::parse(file, None, e));
    let mut out = Items {
        items: Vec::new(),
        defines: Vec::new(),
        offsets: Vec::new(),
        counts: [0; 13],
    };
    // Nested modules and components are parsed through (their payloads
    // are skipped by depth): the streaming parser's offsets stay right.
    let mut depth = 0u32;
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(bad)?;
        if depth > 0 {
            match payload {
                Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
                Payload::End(_) => depth -= 1,
                _ => {}
            }
            continue;
        }
        let offset = payload.as_section().map(|(_, r)| r.start).unwrap_or(0) as usize;
        match payload {
            Payload::Version { encoding, .. } if encoding != wasmparser::Encoding::Component => {
                return Err(FlattenError::NotAComponent {
                    file: file.to_string(),
                });
            }
            Payload::ModuleSection { unchecked_range, .. } => {
                let range = nested(file, bytes, &unchecked_range)?;
                out.push(Item::Module(range), Some(Sort::CoreModule), offset);
                depth += 1;
            }
            Payload::ComponentSection { unchecked_range, .. } => {
                let range = nested(file, bytes, &unchecked_range)?;
                out.push(Item::Component(range), Some(Sort::Component), offset);
                depth += 1;
            }
            Payload::InstanceSection(r) => {
                for i in r {
                    out.push(
                        Item::CoreInstance(i.map_err(bad)?),
                        Some(Sort::CoreInstance),
                        offset,
                    );
                }
            }
            Payload::CoreTypeSection(r) => {
                for t in r {
                    out.push(Item::CoreType(t.map_err(bad)?), Some(Sort::CoreType), offset);
                }
            }
            Payload::ComponentInstanceSection(r) => {
                for i in r {
                    out.push(Item::Instance(i.map_err(bad)?), Some(Sort::Instance), offset);
                }
            }
            Payload::ComponentAliasSection(r) => {
                for a in r {
                    let a = a.map_err(bad)?;
                    let s = alias_sort(&a);
                    out.push(Item::Alias(a), Some(s), offset);
                }
            }
            Payload::ComponentTypeSection(r) => {
                for t in r {
                    out.push(Item::Type(t.map_err(bad)?), Some(Sort::Type), offset);
                }
            }
            Payload::ComponentCanonicalSection(r) => {
                for c in r {
                    let c = c.map_err(bad)?;
                    let s = canon_sort(&c);
                    out.push(Item::Canon(c), Some(s), offset);
                }
            }
            Payload::ComponentImportSection(r) => {
                for i in r {
                    let i = i.map_err(bad)?;
                    let s = Sort::of_type_ref(&i.ty);
                    out.push(Item::Import(i), Some(s), offset);
                }
            }
            Payload::ComponentExportSection(r) => {
                for e in r {
                    let e = e.map_err(bad)?;
                    let s = Sort::of_component(e.kind);
                    out.push(Item::Export(e), Some(s), offset);
                }
            }
            Payload::ComponentStartSection { start, .. } => {
                out.push(Item::Start(start), None, offset);
            }
            Payload::CustomSection(c) => {
                out.push(
                    Item::Custom {
                        name: c.name(),
                        data: c.data(),
                    },
                    None,
                    offset,
                );
            }
            Payload::End(_) => break,
            Payload::Version { .. } => {}
            other => {
                let what = match other.as_section() {
                    Some((id, _)) => format!("section {id}"),
                    None => "a payload".to_string(),
                };
                return Err(Problem::at(
                    file,
                    crate::error::Item::Part(what),
                    Some(offset as u64),
                    "unexpected at a component's top level",
                )
                .into());
            }
        }
    }
    Ok(out)
}

/// A nested module's or component's byte range, checked to lie inside the
/// input.
fn nested(file: &str, bytes: &[u8], r: &Range<u64>) -> Result<Range<usize>, FlattenError> {
    let (start, end) = (r.start as usize, r.end as usize);
    if start <= end && end <= bytes.len() {
        return Ok(start..end);
    }
    Err(Problem::at(
        file,
        crate::error::Item::Part("nested module or component".into()),
        Some(r.start),
        "runs past the end of the input",
    )
    .into())
}

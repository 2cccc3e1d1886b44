//! Part of `flatten`: the ordered live nodes → the component's bytes
//! ([`encode`]). Every item is renumbered into the new index spaces;
//! consecutive items of one kind share a section; the `component-name`
//! section is rebuilt for the items kept (and names the new ones).
//!
//! Cost: O(size of the component); core modules and nested components are
//! copied as they are.

use rustc_hash::FxHashMap as HashMap;
use wasm_encoder::reencode::ReencodeComponent;
use wasm_encoder::{
    Alias, CanonicalFunctionSection, Component, ComponentAliasSection, ComponentExportSection,
    ComponentImportSection, ComponentInstanceSection, ComponentNameSection, ComponentSectionId,
    ComponentTypeSection, CoreTypeSection, ExportKind, InstanceSection, ModuleArg, NameMap, RawSection,
};
use wasmparser::{ComponentName, ComponentNameSectionReader, ExternalKind};

use super::nodes::{Nodes, Out};
use super::read::{Item, Items, Sort};
use super::renumber::{Maps, Renumber, GONE};
use crate::error::FlattenError;

/// Names of new items (old numbering), for the name section.
pub(crate) type NewNames = Vec<((Sort, u32), String)>;

/// What the encoder reads.
pub(crate) struct EncodeCx<'e, 'a> {
    pub file: &'e str,
    pub bytes: &'a [u8],
    pub items: &'e Items<'a>,
    pub nodes: &'e Nodes,
    /// Nested components rewritten, by item position.
    pub nested: &'e HashMap<usize, Vec<u8>>,
    /// (member instance, its export name) → the linked module's name.
    pub export_names: &'e HashMap<(u32, String), String>,
    pub new_names: &'e NewNames,
    /// The maps of the components around, innermost first.
    pub outer_maps: &'e [&'e Maps],
}

/// The section being filled.
enum Open {
    None,
    CoreInstance(InstanceSection),
    CoreType(CoreTypeSection),
    Instance(ComponentInstanceSection),
    Alias(ComponentAliasSection),
    Type(ComponentTypeSection),
    Canon(CanonicalFunctionSection),
    Import(ComponentImportSection),
    Export(ComponentExportSection),
}

impl Open {
    fn same(&self, other: &Open) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }

    fn flush(&mut self, c: &mut Component) {
        match std::mem::replace(self, Open::None) {
            Open::None => {}
            Open::CoreInstance(s) => {
                c.section(&s);
            }
            Open::CoreType(s) => {
                c.section(&s);
            }
            Open::Instance(s) => {
                c.section(&s);
            }
            Open::Alias(s) => {
                c.section(&s);
            }
            Open::Type(s) => {
                c.section(&s);
            }
            Open::Canon(s) => {
                c.section(&s);
            }
            Open::Import(s) => {
                c.section(&s);
            }
            Open::Export(s) => {
                c.section(&s);
            }
        }
    }
}

/// The new index of every written item, in writing order.
pub(crate) fn number(nodes: &Nodes, order: &[usize]) -> Maps {
    let mut maps: Maps = Default::default();
    for (s, m) in maps.iter_mut().enumerate() {
        *m = vec![GONE; nodes.next[s] as usize];
    }
    let mut counts = [0u32; 13];
    for &k in order {
        if let Some((s, i)) = nodes.nodes[k].defines {
            maps[s.slot()][i as usize] = counts[s.slot()];
            counts[s.slot()] += 1;
        }
    }
    maps
}

fn core_kind(k: ExternalKind) -> ExportKind {
    match k {
        ExternalKind::Func | ExternalKind::FuncExact => ExportKind::Func,
        ExternalKind::Table => ExportKind::Table,
        ExternalKind::Memory => ExportKind::Memory,
        ExternalKind::Global => ExportKind::Global,
        ExternalKind::Tag => ExportKind::Tag,
    }
}

/// Writes the nodes `order` names, renumbered by `maps`.
pub(crate) fn encode(cx: &EncodeCx<'_, '_>, order: &[usize], maps: &Maps) -> Result<Vec<u8>, FlattenError> {
    let mut c = Component::new();
    let mut open = Open::None;
    for &k in order {
        let node = &cx.nodes.nodes[k];
        let mut r = Renumber::mapping(maps, cx.outer_maps);
        let what = || match &node.out {
            Out::Orig(p) => format!("item at offset {}", cx.items.offsets[*p]),
            Out::MemberAlias { name, .. } | Out::CoreAlias { name, .. } => {
                format!("alias of export `{name}`")
            }
            Out::Module(_) => "a new core module".to_string(),
            Out::Inline(_) => "a new instance of exports".to_string(),
            Out::Instantiate { .. } => "a new core instance".to_string(),
        };
        // Items written straight into the component.
        match &node.out {
            Out::Module(bytes) => {
                open.flush(&mut c);
                c.section(&RawSection {
                    id: ComponentSectionId::CoreModule as u8,
                    data: bytes,
                });
                continue;
            }
            Out::Orig(p) => match &cx.items.items[*p] {
                Item::Module(range) => {
                    open.flush(&mut c);
                    c.section(&RawSection {
                        id: ComponentSectionId::CoreModule as u8,
                        data: &cx.bytes[range.clone()],
                    });
                    continue;
                }
                Item::Component(range) => {
                    open.flush(&mut c);
                    let data = match cx.nested.get(p) {
                        Some(b) => b.as_slice(),
                        None => &cx.bytes[range.clone()],
                    };
                    c.section(&RawSection {
                        id: ComponentSectionId::Component as u8,
                        data,
                    });
                    continue;
                }
                Item::Custom { name, data } => {
                    open.flush(&mut c);
                    if *name == "component-name" {
                        if let Some(s) = names(data, maps, cx.new_names) {
                            c.section(&s);
                        }
                    } else {
                        c.section(&wasm_encoder::CustomSection {
                            name: (*name).into(),
                            data: (*data).into(),
                        });
                    }
                    continue;
                }
                Item::Start(s) => {
                    open.flush(&mut c);
                    let _ = r.parse_component_start_section(&mut c, s.clone());
                    check(cx, &r, &what)?;
                    continue;
                }
                _ => {}
            },
            _ => {}
        }
        // Items that share a section with their neighbours.
        let want = match &node.out {
            Out::Inline(_) | Out::Instantiate { .. } => Open::CoreInstance(InstanceSection::new()),
            Out::MemberAlias { .. } | Out::CoreAlias { .. } => Open::Alias(ComponentAliasSection::new()),
            Out::Orig(p) => match &cx.items.items[*p] {
                Item::CoreInstance(_) => Open::CoreInstance(InstanceSection::new()),
                Item::CoreType(_) => Open::CoreType(CoreTypeSection::new()),
                Item::Instance(_) => Open::Instance(ComponentInstanceSection::new()),
                Item::Alias(_) => Open::Alias(ComponentAliasSection::new()),
                Item::Type(_) => Open::Type(ComponentTypeSection::new()),
                Item::Canon(_) => Open::Canon(CanonicalFunctionSection::new()),
                Item::Import(_) => Open::Import(ComponentImportSection::new()),
                Item::Export(_) => Open::Export(ComponentExportSection::new()),
                _ => unreachable!("written above"),
            },
            Out::Module(_) => unreachable!("written above"),
        };
        if !open.same(&want) {
            open.flush(&mut c);
            open = want;
        }
        write(cx, node, &mut open, &mut r);
        check(cx, &r, &what)?;
    }
    open.flush(&mut c);
    Ok(c.finish())
}

/// Writes one node into the open section.
fn write(cx: &EncodeCx<'_, '_>, node: &super::nodes::Node, open: &mut Open, r: &mut Renumber<'_>) {
    use wasm_encoder::reencode::Reencode;
    match (&node.out, open) {
        (Out::Inline(exports), Open::CoreInstance(s)) => {
            let mapped: Vec<(String, ExportKind, u32)> = exports
                .iter()
                .map(|(n, k, i)| {
                    let sort = Sort::of_core(*k);
                    let idx = match sort {
                        Sort::CoreFunc => r.function_index(*i),
                        Sort::CoreTable => r.table_index(*i),
                        Sort::CoreMemory => r.memory_index(*i),
                        Sort::CoreGlobal => r.global_index(*i),
                        _ => r.tag_index(*i),
                    }
                    .unwrap_or(*i);
                    (n.clone(), core_kind(*k), idx)
                })
                .collect();
            s.export_items(mapped.iter().map(|(n, k, i)| (n.as_str(), *k, *i)));
        }
        (Out::Instantiate { module, args }, Open::CoreInstance(s)) => {
            let m = r.module_index(*module);
            let args: Vec<(String, u32)> = args
                .iter()
                .map(|(n, i)| (n.clone(), r.instance_index(*i)))
                .collect();
            s.instantiate(m, args.iter().map(|(n, i)| (n.as_str(), ModuleArg::Instance(*i))));
        }
        (
            Out::MemberAlias {
                instance,
                kind,
                member,
                name,
            },
            Open::Alias(s),
        ) => {
            let out = cx
                .export_names
                .get(&(*member, name.clone()))
                .map(String::as_str)
                .unwrap_or(name);
            s.alias(Alias::CoreInstanceExport {
                instance: r.instance_index(*instance),
                kind: core_kind(*kind),
                name: out,
            });
        }
        (Out::CoreAlias { instance, kind, name }, Open::Alias(s)) => {
            s.alias(Alias::CoreInstanceExport {
                instance: r.instance_index(*instance),
                kind: core_kind(*kind),
                name,
            });
        }
        (Out::Orig(p), open) => {
            let _ = match (cx.items.items[*p].clone(), open) {
                (Item::CoreInstance(i), Open::CoreInstance(s)) => r.parse_instance(s, i),
                (Item::CoreType(t), Open::CoreType(s)) => r.parse_component_core_type(s.ty(), t),
                (Item::Instance(i), Open::Instance(s)) => r.parse_component_instance(s, i),
                (Item::Alias(a), Open::Alias(s)) => r.component_alias(a).map(|a| {
                    s.alias(a);
                }),
                (Item::Type(t), Open::Type(s)) => r.parse_component_type(s.ty(), t),
                (Item::Canon(f), Open::Canon(s)) => r.parse_component_canonical(s, f),
                (Item::Import(i), Open::Import(s)) => r.component_type_ref(i.ty).map(|ty| {
                    s.import(i.name, ty);
                }),
                (Item::Export(e), Open::Export(s)) => r.parse_component_export(s, e),
                _ => unreachable!("the section matches the item"),
            };
        }
        _ => unreachable!("the section matches the node"),
    }
}

/// An index the item names that is not written is an error.
fn check(cx: &EncodeCx<'_, '_>, r: &Renumber<'_>, what: &dyn Fn() -> String) -> Result<(), FlattenError> {
    match r.unmapped {
        None => Ok(()),
        Some((sort, i)) => Err(FlattenError::Encode {
            file: cx.file.to_string(),
            what: what(),
            reason: format!("refers to {sort} {i}, which flatten removed or which does not exist"),
        }),
    }
}

/// The `component-name` section for the written items; `None` when it does
/// not parse (it is dropped, as a runtime would ignore it).
fn names(data: &[u8], maps: &Maps, new: &NewNames) -> Option<ComponentNameSection> {
    let reader = ComponentNameSectionReader::new(wasmparser::BinaryReader::new(data, 0));
    let mut by_sort: HashMap<Sort, Vec<(u32, String)>> = HashMap::default();
    let mut out = ComponentNameSection::new();
    for sub in reader {
        let (sort, map) = match sub.ok()? {
            ComponentName::Component { name, .. } => {
                out.component(name);
                continue;
            }
            ComponentName::CoreFuncs(m) => (Sort::CoreFunc, m),
            ComponentName::CoreGlobals(m) => (Sort::CoreGlobal, m),
            ComponentName::CoreMemories(m) => (Sort::CoreMemory, m),
            ComponentName::CoreTables(m) => (Sort::CoreTable, m),
            ComponentName::CoreTags(m) => (Sort::CoreTag, m),
            ComponentName::CoreModules(m) => (Sort::CoreModule, m),
            ComponentName::CoreInstances(m) => (Sort::CoreInstance, m),
            ComponentName::CoreTypes(m) => (Sort::CoreType, m),
            ComponentName::Types(m) => (Sort::Type, m),
            ComponentName::Instances(m) => (Sort::Instance, m),
            ComponentName::Components(m) => (Sort::Component, m),
            ComponentName::Funcs(m) => (Sort::Func, m),
            ComponentName::Values(m) => (Sort::Value, m),
            ComponentName::Unknown { .. } => continue,
        };
        let list = by_sort.entry(sort).or_default();
        for n in map {
            let n = n.ok()?;
            if let Some(&to) = maps[sort.slot()].get(n.index as usize) {
                if to != GONE {
                    list.push((to, n.name.to_string()));
                }
            }
        }
    }
    for ((sort, i), name) in new {
        if let Some(&to) = maps[sort.slot()].get(*i as usize) {
            if to != GONE {
                by_sort.entry(*sort).or_default().push((to, name.clone()));
            }
        }
    }
    for sort in Sort::ALL {
        let Some(mut list) = by_sort.remove(&sort) else {
            continue;
        };
        list.sort_by_key(|(i, _)| *i);
        list.dedup_by_key(|(i, _)| *i);
        let mut m = NameMap::new();
        for (i, n) in &list {
            m.append(*i, n);
        }
        match sort {
            Sort::CoreFunc => out.core_funcs(&m),
            Sort::CoreGlobal => out.core_globals(&m),
            Sort::CoreMemory => out.core_memories(&m),
            Sort::CoreTable => out.core_tables(&m),
            Sort::CoreTag => out.core_tags(&m),
            Sort::CoreModule => out.core_modules(&m),
            Sort::CoreInstance => out.core_instances(&m),
            Sort::CoreType => out.core_types(&m),
            Sort::Type => out.types(&m),
            Sort::Instance => out.instances(&m),
            Sort::Component => out.components(&m),
            Sort::Func => out.funcs(&m),
            Sort::Value => out.values(&m),
        }
    }
    Some(out)
}

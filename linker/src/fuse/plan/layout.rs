//! Part of stage 5, **plan**: the output index spaces laid out. Surveys +
//! instantiation order → each input's type map, the imports that stay
//! imports, where each input's definitions start, and the segments.
//!
//! Every space is imports first, then definitions: the imports that stay
//! imports (host and unresolved ones, of every input in instantiation
//! order, identical ones — same module, field and type — written once),
//! then each input's definitions in instantiation order. The imports that
//! another input satisfies take no place of their own; [`imports`] maps
//! them once everything here is placed.
//!
//! Segments keep instantiation's order of effects: the active segments of
//! inputs up to the first one with a start function stay active (they run
//! before any start, as they would); the active segments of later inputs
//! are deferred (made passive and initialised by the synthesized start, at
//! their input's turn, just before its own start).
//!
//! Cost: O(items), one re-encoding of each import's and definition's type
//! and one hash lookup per import that stays an import.
//!
//! [`imports`]: super::imports

use rustc_hash::FxHashMap as HashMap;
use std::borrow::Cow;

use wasm_encoder::reencode::Reencode;
use wasm_encoder::{Encode, EntityType};
use wasmparser::{DataKind, ElementKind};
use weld_format::rewrite::OutOfRange;
use weld_format::{DataIdx, ElemIdx, InputId, Item, PerSpace, Space, TypeIdx};

use super::{OutImport, Segment, SpaceMaps};
use crate::error::fuse::reencode_reason;
use crate::error::FuseError;
use crate::fuse::context::FuseCx;
use crate::fuse::types::TypePlan;
use crate::resolve::Target;

/// The output type of every item placed so far, per space, for checking
/// imports against their providers.
#[derive(Debug, Default)]
pub(crate) struct ItemTypes {
    /// Each function's type.
    pub funcs: Vec<TypeIdx>,
    /// Each table's type.
    pub tables: Vec<wasm_encoder::TableType>,
    /// Each memory's type.
    pub memories: Vec<wasm_encoder::MemoryType>,
    /// Each global's type.
    pub globals: Vec<wasm_encoder::GlobalType>,
    /// Each tag's function type.
    pub tags: Vec<TypeIdx>,
}

/// The imports that stay imports of the fused module.
#[derive(Debug)]
pub(crate) struct KeptImports<'a> {
    /// The fused module's imports, in output order.
    pub imports: Vec<OutImport<'a>>,
    /// Per input (by [`InputId`]) and import, its output index when it
    /// stays an import; `None` when another input provides it.
    pub kept: Vec<Vec<Option<u32>>>,
    /// How many imports each space has.
    pub counts: PerSpace<u32>,
}

/// The definitions of every input, in output order after the imports.
#[derive(Debug)]
pub(crate) struct Definitions {
    /// Defined functions in output order: (input, defined index).
    pub funcs: Vec<(InputId, u32)>,
    /// Defined tables in output order.
    pub tables: Vec<(InputId, u32)>,
    /// Defined memories in output order.
    pub memories: Vec<(InputId, u32)>,
    /// Defined globals in output order.
    pub globals: Vec<(InputId, u32)>,
    /// Defined tags in output order.
    pub tags: Vec<(InputId, u32)>,
    /// Per input (by [`InputId`]), where its definitions start in each
    /// space.
    pub base: Vec<PerSpace<u32>>,
}

/// The segments of every input, in output order.
#[derive(Debug)]
pub(crate) struct Segments {
    /// Element segments, one output segment each (before coalescing).
    pub elems: Vec<Segment>,
    /// Data segments.
    pub data: Vec<Segment>,
}

/// The `d`th defined item of a space in words, by its index in the space
/// (`table 2`).
fn defined(space: &str, imported: u32, d: usize) -> Item {
    Item::Part(format!("{space} {}", imported as usize + d))
}

/// An item of an input (in the section at `offset`) that re-encoding
/// refused: an index out of its space, or a type it cannot restate.
fn reencode_err(
    input: &str,
    item: Item,
    offset: u64,
    e: wasm_encoder::reencode::Error<OutOfRange>,
) -> FuseError {
    let reason = match e {
        wasm_encoder::reencode::Error::UserError(e) => format!("{} {}: index out of range", e.space, e.index),
        other => reencode_reason(other),
    };
    FuseError::malformed(input, item, offset, reason)
}

/// The output type section, and each input's type map in `maps`, input by
/// input in instantiation order.
pub(crate) fn types(
    cx: &FuseCx<'_, '_>,
    order: &[InputId],
    maps: &mut [SpaceMaps],
) -> Result<TypePlan, FuseError> {
    let mut types = TypePlan::default();
    for &k in order {
        let m = cx.modules[k.as_usize()];
        maps[k.as_usize()].types = types.add_module(m).map_err(|b| {
            FuseError::malformed(
                cx.files[k.as_usize()],
                format!("type {}", b.index),
                m.section_start(1),
                "type reference out of range or forward",
            )
        })?;
    }
    Ok(types)
}

/// The imports that stay imports (host and unresolved ones), merged when
/// identical, in instantiation order; their types are added to `items`.
pub(crate) fn kept_imports<'a>(
    cx: &FuseCx<'_, 'a>,
    order: &[InputId],
    maps: &[SpaceMaps],
    items: &mut ItemTypes,
) -> Result<KeptImports<'a>, FuseError> {
    let mut imports: Vec<OutImport<'a>> = Vec::new();
    // (module, name, encoded type) → the kept import.
    type Key<'a> = (Cow<'a, str>, Cow<'a, str>, Vec<u8>);
    let mut import_key: HashMap<Key<'a>, u32> = HashMap::default();
    let mut kept: Vec<Vec<Option<u32>>> = vec![Vec::new(); cx.modules.len()];
    let mut counts = PerSpace::<u32>::default();
    for &k in order {
        let m = cx.modules[k.as_usize()];
        let file = cx.files[k.as_usize()];
        let mut remap = maps[k.as_usize()].remap();
        let mut mine = Vec::with_capacity(m.imports.len());
        for (i, imp) in m.imports.iter().enumerate() {
            let (module, name): (Cow<'a, str>, Cow<'a, str>) = match cx.links.target(k, i) {
                Target::Host | Target::Unresolved { .. } => {
                    (cx.links.host_module(imp.module), Cow::Borrowed(imp.name))
                }
                Target::Renamed { module, name } => (Cow::Owned(module.clone()), Cow::Owned(name.clone())),
                Target::Input { .. } | Target::Missing { .. } => {
                    mine.push(None);
                    continue;
                }
            };
            let ty = remap
                .entity_type(imp.ty)
                .map_err(|e| reencode_err(file, Item::import(imp), m.section_start(2), e))?;
            let mut key_bytes = Vec::new();
            ty.encode(&mut key_bytes);
            let space = Space::of_type_ref(&imp.ty);
            let idx = *import_key
                .entry((module.clone(), name.clone(), key_bytes))
                .or_insert_with(|| {
                    let idx = counts[space];
                    counts[space] += 1;
                    match ty {
                        EntityType::Function(t) => items.funcs.push(TypeIdx(t)),
                        EntityType::Table(t) => items.tables.push(t),
                        EntityType::Memory(t) => items.memories.push(t),
                        EntityType::Global(t) => items.globals.push(t),
                        EntityType::Tag(t) => items.tags.push(TypeIdx(t.func_type_idx)),
                        EntityType::FunctionExact(t) => items.funcs.push(TypeIdx(t)),
                    }
                    imports.push(OutImport { module, name, ty });
                    idx
                });
            mine.push(Some(idx));
        }
        kept[k.as_usize()] = mine;
    }
    Ok(KeptImports {
        imports,
        kept,
        counts,
    })
}

/// Every input's definitions, in instantiation order after the `imports`
/// (counted per space); their types are added to `items`.
pub(crate) fn definitions(
    cx: &FuseCx<'_, '_>,
    order: &[InputId],
    maps: &[SpaceMaps],
    items: &mut ItemTypes,
    imports: PerSpace<u32>,
) -> Result<Definitions, FuseError> {
    let mut out = Definitions {
        funcs: Vec::new(),
        tables: Vec::new(),
        memories: Vec::new(),
        globals: Vec::new(),
        tags: Vec::new(),
        base: vec![PerSpace::default(); cx.modules.len()],
    };
    let mut next = imports;
    for &k in order {
        let m = cx.modules[k.as_usize()];
        let file = cx.files[k.as_usize()];
        out.base[k.as_usize()] = next;
        let mut remap = maps[k.as_usize()].remap();
        let first_def = m.imported.funcs as usize;
        for (d, ty) in m.func_types[first_def..].iter().enumerate() {
            let t = remap.type_index(ty.0).map_err(|e| {
                let item = Item::Func {
                    index: first_def as u32 + d as u32,
                    name: None,
                };
                reencode_err(file, item, m.section_start(3), e)
            })?;
            items.funcs.push(TypeIdx(t));
            out.funcs.push((k, d as u32));
        }
        for (d, t) in m.tables.iter().enumerate() {
            items.tables.push(remap.table_type(t.ty).map_err(|e| {
                reencode_err(
                    file,
                    defined("table", m.imported.tables, d),
                    m.section_start(4),
                    e,
                )
            })?);
            out.tables.push((k, d as u32));
        }
        for (d, t) in m.memories.iter().enumerate() {
            items.memories.push(remap.memory_type(*t).map_err(|e| {
                reencode_err(
                    file,
                    defined("memory", m.imported.memories, d),
                    m.section_start(5),
                    e,
                )
            })?);
            out.memories.push((k, d as u32));
        }
        for (d, g) in m.globals.iter().enumerate() {
            items.globals.push(remap.global_type(g.ty).map_err(|e| {
                reencode_err(
                    file,
                    defined("global", m.imported.globals, d),
                    m.section_start(6),
                    e,
                )
            })?);
            out.globals.push((k, d as u32));
        }
        for (d, t) in m.tags.iter().enumerate() {
            let ty = remap.type_index(t.func_type_idx).map_err(|e| {
                reencode_err(file, defined("tag", m.imported.tags, d), m.section_start(13), e)
            })?;
            items.tags.push(TypeIdx(ty));
            out.tags.push((k, d as u32));
        }
        next[Space::Func] += (m.func_types.len() - first_def) as u32;
        next[Space::Table] += m.tables.len() as u32;
        next[Space::Memory] += m.memories.len() as u32;
        next[Space::Global] += m.globals.len() as u32;
        next[Space::Tag] += m.tags.len() as u32;
    }
    Ok(out)
}

/// Every input's segments, in instantiation order, with each input's
/// segment maps in `maps`; those after the first start are deferred.
///
/// Shared libraries laid out by `weld link` write only their own disjoint
/// regions (their start functions zero their own bss), so their segments
/// stay active: engines initialise active data from a copy-on-write image
/// instead of running `memory.init`.
pub(crate) fn segments(cx: &FuseCx<'_, '_>, order: &[InputId], maps: &mut [SpaceMaps]) -> Segments {
    let modules = cx.modules;
    let first_start = match cx.dylink {
        true => None,
        false => order.iter().position(|k| modules[k.as_usize()].start.is_some()),
    };
    let (mut elems, mut data) = (Vec::new(), Vec::new());
    for (pos, &k) in order.iter().enumerate() {
        let m = modules[k.as_usize()];
        let defer = first_start.is_some_and(|s| pos > s);
        let mut emap = Vec::with_capacity(m.elements.len());
        for (e, seg) in m.elements.iter().enumerate() {
            emap.push(ElemIdx(elems.len() as u32));
            let deferred = defer && matches!(seg.kind, ElementKind::Active { .. });
            elems.push(Segment {
                input: k,
                index: e as u32,
                deferred,
            });
        }
        let mut dmap = Vec::with_capacity(m.data.len());
        for (d, seg) in m.data.iter().enumerate() {
            dmap.push(DataIdx(data.len() as u32));
            let deferred = defer && matches!(seg.kind, DataKind::Active { .. });
            data.push(Segment {
                input: k,
                index: d as u32,
                deferred,
            });
        }
        maps[k.as_usize()].elems = emap;
        maps[k.as_usize()].data = dmap;
    }
    Segments { elems, data }
}

//! Stage 5, **plan**: surveys + links + order → [`Plan`]: where every item of
//! every input lands in the fused module. Pure data; no bytes are written.
//!
//! Output index spaces are laid out as imports first (the unresolved and host
//! imports of all inputs, identical ones merged, in instantiation order), then
//! each input's definitions in instantiation order. An import satisfied by
//! another input maps to the provider's item (after following re-exports,
//! which the instantiation order has already resolved), after a type check.
//!
//! Segments and starts: the fused module must behave like instantiating the
//! inputs one by one. Active segments of inputs up to the first one with a
//! start function stay active (they run before any start, as they would);
//! active segments of later inputs become passive and are initialised from a
//! synthesized start function, at their input's turn, just before its own
//! start. Cost: O(items) with one hash lookup per import or export.

use rustc_hash::FxHashMap as HashMap;
use std::borrow::Cow;

use wasm_encoder::reencode::Reencode;
use wasm_encoder::{Encode, EntityType};
use wasmparser::{DataKind, ElementKind, ExternalKind, TypeRef};
use weld_format::rewrite::{OutOfRange, Remap};
use weld_format::{
    DataIdx, ElemIdx, FuncIdx, GlobalIdx, InputId, MemIdx, PerSpace, Space, TableIdx, TagIdx, TypeIdx,
};

pub use super::icf::{Fold, Icf};
use super::types::TypePlan;
use super::FuseCx;
use crate::error::{FuseError, Item, Problem};
use crate::resolve::Target;
use weld_format::wat::Wat;

/// What to do when two inputs export the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnConflict {
    /// Refuse (the default).
    #[default]
    Error,
    /// Keep the first; rename later ones to `<input>.<name>`.
    Rename,
    /// Keep the first; drop later ones.
    Skip,
}

/// Old → new maps of one input, one per index space.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpaceMaps {
    /// Types.
    pub types: Vec<TypeIdx>,
    /// Functions.
    pub funcs: Vec<FuncIdx>,
    /// Tables.
    pub tables: Vec<TableIdx>,
    /// Memories.
    pub memories: Vec<MemIdx>,
    /// Globals.
    pub globals: Vec<GlobalIdx>,
    /// Tags.
    pub tags: Vec<TagIdx>,
    /// Element segments.
    pub elems: Vec<ElemIdx>,
    /// Data segments.
    pub data: Vec<DataIdx>,
}

impl SpaceMaps {
    /// The output index of `index` in `space`, raw since the space is only
    /// known at run time (an export's target).
    pub fn get(&self, space: Space, index: u32) -> Option<u32> {
        let i = index as usize;
        match space {
            Space::Func => self.funcs.get(i).map(|x| x.0),
            Space::Table => self.tables.get(i).map(|x| x.0),
            Space::Memory => self.memories.get(i).map(|x| x.0),
            Space::Global => self.globals.get(i).map(|x| x.0),
            Space::Tag => self.tags.get(i).map(|x| x.0),
            Space::Type => self.types.get(i).map(|x| x.0),
            Space::Elem => self.elems.get(i).map(|x| x.0),
            Space::Data => self.data.get(i).map(|x| x.0),
        }
    }

    /// Appends the next old index's output index `out` to the map of `space`.
    fn push(&mut self, space: Space, out: u32) {
        match space {
            Space::Func => self.funcs.push(FuncIdx(out)),
            Space::Table => self.tables.push(TableIdx(out)),
            Space::Memory => self.memories.push(MemIdx(out)),
            Space::Global => self.globals.push(GlobalIdx(out)),
            Space::Tag => self.tags.push(TagIdx(out)),
            Space::Type => self.types.push(TypeIdx(out)),
            Space::Elem => self.elems.push(ElemIdx(out)),
            Space::Data => self.data.push(DataIdx(out)),
        }
    }

    /// A remap borrowing these maps.
    pub fn remap(&self) -> Remap<'_> {
        Remap {
            types: &self.types,
            funcs: &self.funcs,
            tables: &self.tables,
            memories: &self.memories,
            globals: &self.globals,
            tags: &self.tags,
            elems: &self.elems,
            data: &self.data,
        }
    }
}

/// An import of the fused module.
#[derive(Debug, Clone)]
pub struct OutImport<'a> {
    /// Module name (a host import renamed by the host map is owned).
    pub module: std::borrow::Cow<'a, str>,
    /// Field name.
    pub name: &'a str,
    /// Its type, in output indices.
    pub ty: EntityType,
}

/// An export of the fused module.
#[derive(Debug, Clone)]
pub struct OutExport<'a> {
    /// Name (renamed on conflict when asked).
    pub name: Cow<'a, str>,
    /// Kind.
    pub kind: ExternalKind,
    /// Output index in its space.
    pub index: u32,
}

/// A segment of the fused module: an input's segment, possibly turned passive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// The input.
    pub input: InputId,
    /// Its index in the input.
    pub index: u32,
    /// Whether an active segment was made passive (initialised by the start).
    pub deferred: bool,
}

/// One step of the synthesized start function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartStep {
    /// `table.init` + `elem.drop` of a deferred element segment.
    InitElem(ElemIdx),
    /// `memory.init` + `data.drop` of a deferred data segment.
    InitData(DataIdx),
    /// Call an input's start function.
    Call(FuncIdx),
}

/// The fused module's start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// One input's start function, used as is.
    Existing(FuncIdx),
    /// A new function running the steps in order.
    Synthesized {
        /// Its index (after every input's functions).
        func: FuncIdx,
        /// Its type, `[] -> []`.
        ty: TypeIdx,
        /// What it does.
        steps: Vec<StartStep>,
    },
}

/// Where everything goes.
#[derive(Debug)]
pub struct Plan<'a> {
    /// Instantiation order.
    pub order: Vec<InputId>,
    /// The output types.
    pub types: TypePlan,
    /// Per input (by [`InputId`]), its maps.
    pub maps: Vec<SpaceMaps>,
    /// The fused module's imports.
    pub imports: Vec<OutImport<'a>>,
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
    /// Element segments: every input's, grouped by output segment (see
    /// [`coalesce`](super::coalesce)), in output order.
    pub elems: Vec<Segment>,
    /// Where each output element segment's members start in `elems`.
    pub elem_starts: Vec<u32>,
    /// Data segments in output order.
    pub data: Vec<Segment>,
    /// Exports in output order.
    pub exports: Vec<OutExport<'a>>,
    /// The start function.
    pub start: Option<Start>,
    /// Imports per space (zero for types and segments).
    pub n_imports: PerSpace<u32>,
    /// Functions folded into others by identical code folding.
    pub folds: Vec<Fold>,
    /// After folding: old output function index -> new one, for patching
    /// bodies rewritten before the fold.
    pub renumber: Option<Vec<FuncIdx>>,
    /// After folding: for each function defined before the fold, whether its
    /// body is kept (in the order the bodies were rewritten).
    pub kept: Option<Vec<bool>>,
    /// Functions to declare in a declarative element segment (their export
    /// was dropped by `--exports`, and a body may `ref.func` them).
    pub declare: Vec<u32>,
    /// After [`reach`](crate::fuse::reach): the bodies to write, in output
    /// order, by their index among the bodies rewritten before folding.
    pub body_order: Option<Vec<u32>>,
    /// How many functions [`reach`](crate::fuse::reach) removed.
    pub removed: usize,
    /// How many bodies it replaced by `unreachable`.
    pub emptied: usize,
}

/// Options that shape the plan.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Export name conflicts.
    pub on_conflict: OnConflict,
    /// Keep only these exports.
    pub exports: Option<Vec<String>>,
}

/// The output types of every item, for checking imports against providers.
#[derive(Default)]
struct ItemTypes {
    funcs: Vec<TypeIdx>,
    tables: Vec<wasm_encoder::TableType>,
    memories: Vec<wasm_encoder::MemoryType>,
    globals: Vec<wasm_encoder::GlobalType>,
    tags: Vec<TypeIdx>,
}

fn out_of_range(input: &str, e: OutOfRange) -> FuseError {
    FuseError::malformed(input, format!("{} {}", e.space, e.index), "index out of range")
}

fn reencode_err(input: &str, e: wasm_encoder::reencode::Error<OutOfRange>) -> FuseError {
    match e {
        wasm_encoder::reencode::Error::UserError(e) => out_of_range(input, e),
        other => FuseError::malformed(input, "type", reencode_reason(other)),
    }
}

/// Why wasm-encoder could not re-encode an item, in words (a parse error
/// keeps wasmparser's message, which the encoder's own text drops).
pub(crate) fn reencode_reason(e: wasm_encoder::reencode::Error<OutOfRange>) -> String {
    match e {
        wasm_encoder::reencode::Error::ParseError(p) => p.message().to_string(),
        other => other.to_string(),
    }
}

/// [`Plan::build`] for the per-stage benches (`weld_linker::stages`), which
/// hold the run's pieces apart.
#[cfg(feature = "stages")]
pub fn plan<'a>(
    files: &[&str],
    names: &[&str],
    modules: &[&weld_format::survey::ModuleSurvey<'a>],
    links: &crate::resolve::Resolution,
    order: Vec<InputId>,
) -> Result<Plan<'a>, FuseError> {
    let cx = FuseCx {
        files,
        names,
        modules,
        links,
        dylink: false,
    };
    Plan::build(&cx, order)
}

impl<'a> Plan<'a> {
    /// The output type of defined function `d` of input `k` (`m` is its
    /// survey), or `u32::MAX` when the input's type index has no mapping.
    pub fn defined_func_type(&self, m: &weld_format::survey::ModuleSurvey<'_>, k: InputId, d: u32) -> u32 {
        let ty = m.func_types[(m.imported.funcs + d) as usize];
        self.maps[k.as_usize()]
            .types
            .get(ty.as_usize())
            .map_or(u32::MAX, |t| t.0)
    }

    /// Builds the plan of every index space; `order` is the instantiation order
    /// from the graph. Function indices are final only after folding
    /// ([`super::icf::fold`]); [`Plan::finish`] then places the start function
    /// and the exports.
    pub fn build(cx: &FuseCx<'_, 'a>, order: Vec<InputId>) -> Result<Plan<'a>, FuseError> {
        let FuseCx {
            files,
            modules,
            links,
            ..
        } = *cx;
        let n = modules.len();
        let mut maps = vec![SpaceMaps::default(); n];

        // Types, in instantiation order.
        let mut types = TypePlan::default();
        for &k in &order {
            let m = modules[k.as_usize()];
            maps[k.as_usize()].types = types.add_module(m).map_err(|b| {
                FuseError::malformed(
                    files[k.as_usize()],
                    format!("type {}", b.index),
                    "type reference out of range or forward",
                )
            })?;
        }

        // Pass A: imports that stay imports, merged when identical.
        let mut imports: Vec<OutImport<'a>> = Vec::new();
        let mut import_key: HashMap<(std::borrow::Cow<'a, str>, &str, Vec<u8>), u32> = HashMap::default();
        let mut kept: Vec<Vec<Option<u32>>> = vec![Vec::new(); n];
        let mut items = ItemTypes::default();
        let mut counts = PerSpace::<u32>::default();
        for &k in &order {
            let m = modules[k.as_usize()];
            let file = files[k.as_usize()];
            let mut remap = maps[k.as_usize()].remap();
            let mut mine = Vec::with_capacity(m.imports.len());
            for (i, imp) in m.imports.iter().enumerate() {
                match links.target(k, i) {
                    Target::Host | Target::Unresolved { .. } => {}
                    Target::Input { .. } | Target::Missing { .. } => {
                        mine.push(None);
                        continue;
                    }
                }
                let ty = remap.entity_type(imp.ty).map_err(|e| reencode_err(file, e))?;
                let mut key_bytes = Vec::new();
                ty.encode(&mut key_bytes);
                let space = Space::of_type_ref(&imp.ty);
                let module = links.host_module(imp.module);
                let idx = *import_key
                    .entry((module.clone(), imp.name, key_bytes))
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
                        imports.push(OutImport {
                            module,
                            name: imp.name,
                            ty,
                        });
                        idx
                    });
                mine.push(Some(idx));
            }
            kept[k.as_usize()] = mine;
        }

        // Pass B: definitions, in instantiation order after the imports.
        let (mut funcs, mut tables, mut memories, mut globals, mut tags) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut defined_base: Vec<PerSpace<u32>> = vec![PerSpace::default(); n];
        let mut next = counts;
        for &k in &order {
            let m = modules[k.as_usize()];
            let file = files[k.as_usize()];
            defined_base[k.as_usize()] = next;
            let mut remap = maps[k.as_usize()].remap();
            let first_def = m.imported.funcs as usize;
            for (d, ty) in m.func_types[first_def..].iter().enumerate() {
                let t = remap.type_index(ty.0).map_err(|e| reencode_err(file, e))?;
                items.funcs.push(TypeIdx(t));
                funcs.push((k, d as u32));
            }
            for (d, t) in m.tables.iter().enumerate() {
                items
                    .tables
                    .push(remap.table_type(t.ty).map_err(|e| reencode_err(file, e))?);
                tables.push((k, d as u32));
            }
            for (d, t) in m.memories.iter().enumerate() {
                items
                    .memories
                    .push(remap.memory_type(*t).map_err(|e| reencode_err(file, e))?);
                memories.push((k, d as u32));
            }
            for (d, g) in m.globals.iter().enumerate() {
                items
                    .globals
                    .push(remap.global_type(g.ty).map_err(|e| reencode_err(file, e))?);
                globals.push((k, d as u32));
            }
            for (d, t) in m.tags.iter().enumerate() {
                let ty = remap
                    .type_index(t.func_type_idx)
                    .map_err(|e| reencode_err(file, e))?;
                items.tags.push(TypeIdx(ty));
                tags.push((k, d as u32));
            }
            next[Space::Func] += (m.func_types.len() - first_def) as u32;
            next[Space::Table] += m.tables.len() as u32;
            next[Space::Memory] += m.memories.len() as u32;
            next[Space::Global] += m.globals.len() as u32;
            next[Space::Tag] += m.tags.len() as u32;
        }

        // Pass C: every import of every input, in instantiation order, so a
        // provider's own imports are resolved before anything imports from it.
        // (`weld link` also links in cycles: an import of an item a later
        // input defines lands at that item's place, found from the bases.)
        let mut errors: Vec<Problem> = Vec::new();
        let import_pos: Vec<PerSpace<Vec<u32>>> = modules
            .iter()
            .map(|m| {
                let mut pos = PerSpace::<Vec<u32>>::default();
                for (i, imp) in m.imports.iter().enumerate() {
                    pos[Space::of_type_ref(&imp.ty)].push(i as u32);
                }
                pos
            })
            .collect();
        for &k in &order {
            let m = modules[k.as_usize()];
            let ki = k.as_usize();
            // This input's maps of the import-bearing spaces, imports first.
            let mut own = SpaceMaps {
                funcs: Vec::with_capacity(m.func_types.len()),
                ..SpaceMaps::default()
            };
            let placed = Placed {
                types: &types,
                items: &items,
                maps: &maps,
                defined_base: &defined_base,
                kept: &kept,
                import_pos: &import_pos,
            };
            for (i, imp) in m.imports.iter().enumerate() {
                let out = match (links.target(k, i), kept[ki][i]) {
                    (_, Some(idx)) => idx,
                    (Target::Input { provider, export, .. }, None) => {
                        match link_import(cx, &placed, k, imp, *provider, *export) {
                            Ok(idx) => idx,
                            Err(e) => {
                                errors.push(*e);
                                0
                            }
                        }
                    }
                    (Target::Missing { reason, .. }, None) => {
                        errors.push(Problem::new(files[ki], Item::import(imp), reason.clone()));
                        0
                    }
                    (_, None) => unreachable!("host and unresolved imports are kept in pass A"),
                };
                own.push(Space::of_type_ref(&imp.ty), out);
            }
            let base = defined_base[ki];
            let defined = |s: Space, len: usize| (0..len as u32).map(move |d| base[s] + d);
            let n_funcs = m.func_types.len() - m.imported.funcs as usize;
            own.funcs.extend(defined(Space::Func, n_funcs).map(FuncIdx));
            own.tables
                .extend(defined(Space::Table, m.tables.len()).map(TableIdx));
            own.memories
                .extend(defined(Space::Memory, m.memories.len()).map(MemIdx));
            own.globals
                .extend(defined(Space::Global, m.globals.len()).map(GlobalIdx));
            own.tags.extend(defined(Space::Tag, m.tags.len()).map(TagIdx));
            let mp = &mut maps[ki];
            (mp.funcs, mp.tables, mp.memories, mp.globals, mp.tags) =
                (own.funcs, own.tables, own.memories, own.globals, own.tags);
        }
        if !errors.is_empty() {
            return Err(FuseError::Imports(errors));
        }

        // Segments, in instantiation order; defer those after the first start.
        // Shared libraries laid out by `weld link` write only their own
        // disjoint regions (their start functions zero their own bss), so
        // their segments stay active: engines initialise active data from a
        // copy-on-write image instead of running `memory.init`.
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
        let mut elem_starts: Vec<u32> = (0..elems.len() as u32).collect();
        if let Some(c) = super::coalesce::coalesce(modules, &maps, &elems) {
            for mp in &mut maps {
                for e in &mut mp.elems {
                    e.0 = c.renumber[e.as_usize()];
                }
            }
            (elems, elem_starts) = (c.parts, c.starts);
        }

        Ok(Plan {
            order,
            types,
            maps,
            imports,
            funcs,
            tables,
            memories,
            globals,
            tags,
            elems,
            elem_starts,
            data,
            exports: Vec::new(),
            start: None,
            n_imports: counts,
            folds: Vec::new(),
            renumber: None,
            kept: None,
            declare: Vec::new(),
            body_order: None,
            removed: 0,
            emptied: 0,
        })
    }

    /// The input segments written as output element segment `out` (one,
    /// or a coalesced run).
    pub fn elem_segment(&self, out: usize) -> &[Segment] {
        let start = self.elem_starts[out] as usize;
        let end = self
            .elem_starts
            .get(out + 1)
            .map_or(self.elems.len(), |&e| e as usize);
        &self.elems[start..end]
    }

    /// The last planning step, once function indices are final (after
    /// identical code folding): the start function and the exports.
    pub fn finish(&mut self, cx: &FuseCx<'_, 'a>, opts: &PlanOptions) -> Result<(), FuseError> {
        let FuseCx { files, modules, .. } = *cx;
        // The start: deferred segments and start calls, input by input.
        let mut steps = Vec::new();
        for &k in &self.order {
            let ki = k.as_usize();
            let maps = &self.maps[ki];
            steps.extend(
                maps.elems
                    .iter()
                    .filter(|e| self.elem_segment(e.as_usize())[0].deferred)
                    .map(|&e| StartStep::InitElem(e)),
            );
            steps.extend(
                maps.data
                    .iter()
                    .filter(|d| self.data[d.as_usize()].deferred)
                    .map(|&d| StartStep::InitData(d)),
            );
            if let Some(s) = modules[ki].start {
                let f = maps.funcs.get(s.as_usize()).copied().ok_or_else(|| {
                    FuseError::malformed(files[ki], "start section", format!("{s} out of range"))
                })?;
                steps.push(StartStep::Call(f));
            }
        }
        self.start = match steps.as_slice() {
            [] => None,
            [StartStep::Call(f)] => Some(Start::Existing(*f)),
            _ => {
                let func = FuncIdx(self.n_imports[Space::Func] + self.funcs.len() as u32);
                Some(Start::Synthesized {
                    func,
                    ty: self.types.empty_func(),
                    steps,
                })
            }
        };
        // Every export, whatever clashes (only their targets matter here).
        let everything = PlanOptions {
            exports: None,
            on_conflict: OnConflict::Rename,
        };
        let all_exports = plan_exports(cx, &everything, &self.maps)?;
        self.exports = plan_exports(cx, opts, &self.maps)?;
        self.declare = undeclared(&all_exports, &self.exports);
        Ok(())
    }
}

/// What pass C links imports against: the types and items placed so far.
struct Placed<'p> {
    types: &'p TypePlan,
    items: &'p ItemTypes,
    maps: &'p [SpaceMaps],
    /// Where each input's definitions start, per space.
    defined_base: &'p [PerSpace<u32>],
    /// Each input's imports that stay imports, at their output index.
    kept: &'p [Vec<Option<u32>>],
    /// Per input and space, the position of each import in its import list.
    import_pos: &'p [PerSpace<Vec<u32>>],
}

/// The output index of item `index` of `space` in input `p`. An input whose
/// imports pass C has linked answers from its maps; otherwise a definition
/// is at its base, and an import is followed to what it links to (a loop of
/// re-exports is an error).
fn provided(
    cx: &FuseCx<'_, '_>,
    placed: &Placed<'_>,
    p: usize,
    space: Space,
    index: u32,
) -> Result<u32, String> {
    let (mut p, mut space, mut index) = (p, space, index);
    for _ in 0..=cx.modules.len() {
        if let Some(i) = placed.maps[p].get(space, index) {
            return Ok(i);
        }
        let m = cx.modules[p];
        let imported = placed.import_pos[p][space].len() as u32;
        let total = imported
            + match space {
                Space::Func => (m.func_types.len() as u32).saturating_sub(imported),
                Space::Table => m.tables.len() as u32,
                Space::Memory => m.memories.len() as u32,
                Space::Global => m.globals.len() as u32,
                Space::Tag => m.tags.len() as u32,
                _ => 0,
            };
        if index >= total {
            return Err(format!(
                "`{}` exports {space} {index}, which is out of range",
                cx.names[p]
            ));
        }
        if index >= imported {
            return Ok(placed.defined_base[p][space] + (index - imported));
        }
        let pos = placed.import_pos[p][space][index as usize] as usize;
        if let Some(k) = placed.kept[p].get(pos).copied().flatten() {
            return Ok(k);
        }
        match cx.links.target(InputId(p as u32), pos) {
            Target::Input { provider, export, .. } => {
                let ex = cx.modules[provider.as_usize()].exports[*export as usize];
                (p, space, index) = (provider.as_usize(), Space::of_kind(ex.kind), ex.index);
            }
            _ => {
                return Err(format!(
                    "`{}` re-exports an import that is not linked",
                    cx.names[p]
                ))
            }
        }
    }
    Err("the symbol is a cycle of re-exports: each library exports what it imports from the next".into())
}

/// Resolves import `imp` of input `k` to export `export` of `provider` and
/// checks the types.
fn link_import(
    cx: &FuseCx<'_, '_>,
    placed: &Placed<'_>,
    k: InputId,
    imp: &wasmparser::Import<'_>,
    provider: InputId,
    export: u32,
) -> Result<u32, Box<Problem>> {
    let Placed {
        types, items, maps, ..
    } = *placed;
    let FuseCx {
        files,
        names,
        modules,
        ..
    } = *cx;
    let ki = k.as_usize();
    let pi = provider.as_usize();
    let err = |reason: String| Box::new(Problem::new(files[ki], Item::import(imp), reason));
    let ex = modules[pi].exports[export as usize];
    let want = Space::of_type_ref(&imp.ty);
    let have = Space::of_kind(ex.kind);
    if want != have {
        return Err(err(format!(
            "expected {want}, but `{}` exports `{}` as a {have}",
            names[pi], ex.name
        )));
    }
    let idx = provided(cx, placed, pi, have, ex.index)
        .map_err(|reason| err(format!("`{}` exports `{}`: {reason}", names[pi], ex.name)))?;
    let my_types = &maps[ki].types;
    let mine = |t: u32| my_types.get(t as usize).copied();
    let mismatch = |expected: String, found: String| {
        err(format!(
            "type mismatch: expected {expected}, but `{}` exports `{}` as {found}",
            names[pi], ex.name
        ))
    };
    // A function type: its body, and for a GC type its index and supertype
    // (declared subtyping is what matches).
    let ty_text = |t: TypeIdx, indexed: bool| {
        let body = types.text.get(t.as_usize()).cloned().unwrap_or_default();
        match types.supertypes.get(t.as_usize()).copied().flatten() {
            Some(sup) => types.explain(&format!("{body} (type {} <: {sup})", t.0)),
            None if indexed => types.explain(&format!("{body} (type {})", t.0)),
            None => types.explain(&body),
        }
    };
    match imp.ty {
        TypeRef::Func(t) | TypeRef::FuncExact(t) => {
            let expected = mine(t).ok_or_else(|| err(format!("type {t} out of range")))?;
            let found = items.funcs[idx as usize];
            if !types.is_subtype(found, expected) {
                // Declared subtyping, or two types that print alike: the
                // indices say which is which.
                let sub = |t: TypeIdx| types.supertypes.get(t.as_usize()).copied().flatten().is_some();
                let same = types.text.get(expected.as_usize()) == types.text.get(found.as_usize());
                let indexed = same || sub(expected) || sub(found);
                return Err(mismatch(ty_text(expected, indexed), ty_text(found, indexed)));
            }
        }
        TypeRef::Tag(t) => {
            let expected = mine(t.func_type_idx).ok_or_else(|| err("tag type out of range".into()))?;
            let found = items.tags[idx as usize];
            if found != expected {
                return Err(mismatch(
                    format!("tag {}", ty_text(expected, false)),
                    format!("tag {}", ty_text(found, false)),
                ));
            }
        }
        TypeRef::Global(g) => {
            let mut remap = maps[ki].remap();
            let expected = remap
                .global_type(g)
                .map_err(|_| err("global type out of range".into()))?;
            let found = items.globals[idx as usize];
            // Immutable: covariant; mutable: equal (both are read and written).
            let ok = found.mutable == expected.mutable
                && found.shared == expected.shared
                && if expected.mutable {
                    found.val_type == expected.val_type
                } else {
                    types.is_val_subtype(found.val_type, expected.val_type)
                };
            if !ok {
                return Err(mismatch(
                    types.explain(&Wat(expected).to_string()),
                    types.explain(&Wat(found).to_string()),
                ));
            }
        }
        TypeRef::Table(t) => {
            let mut remap = maps[ki].remap();
            let expected = remap
                .table_type(t)
                .map_err(|_| err("table type out of range".into()))?;
            let found = items.tables[idx as usize];
            let ok = found.element_type == expected.element_type
                && found.table64 == expected.table64
                && found.shared == expected.shared
                && limits_match(found.minimum, found.maximum, expected.minimum, expected.maximum);
            if !ok {
                return Err(mismatch(
                    types.explain(&Wat(expected).to_string()),
                    types.explain(&Wat(found).to_string()),
                ));
            }
        }
        TypeRef::Memory(mt) => {
            let mut remap = maps[ki].remap();
            let expected = remap
                .memory_type(mt)
                .map_err(|_| err("memory type out of range".into()))?;
            let found = items.memories[idx as usize];
            let ok = found.memory64 == expected.memory64
                && found.shared == expected.shared
                && found.page_size_log2 == expected.page_size_log2
                && limits_match(found.minimum, found.maximum, expected.minimum, expected.maximum);
            if !ok {
                return Err(mismatch(Wat(expected).to_string(), Wat(found).to_string()));
            }
        }
    }
    Ok(idx)
}

/// Import subtyping of limits: at least the minimum, and within the maximum
/// when the import declares one.
fn limits_match(found_min: u64, found_max: Option<u64>, want_min: u64, want_max: Option<u64>) -> bool {
    found_min >= want_min
        && match want_max {
            None => true,
            Some(w) => found_max.is_some_and(|f| f <= w),
        }
}

fn plan_exports<'a>(
    cx: &FuseCx<'_, 'a>,
    opts: &PlanOptions,
    maps: &[SpaceMaps],
) -> Result<Vec<OutExport<'a>>, FuseError> {
    let FuseCx {
        files,
        names,
        modules,
        ..
    } = *cx;
    let mut out: Vec<OutExport<'a>> = Vec::new();
    let mut taken: HashMap<Cow<'a, str>, InputId> = HashMap::default();
    let mut conflicts = Vec::new();
    for (i, m) in modules.iter().enumerate() {
        let k = InputId(i as u32);
        for ex in &m.exports {
            let index = maps[i].get(Space::of_kind(ex.kind), ex.index).ok_or_else(|| {
                FuseError::malformed(files[i], Item::Export(ex.name.to_string()), "index out of range")
            })?;
            let mut name: Cow<'a, str> = Cow::Borrowed(ex.name);
            if let Some(&first) = taken.get(&name) {
                // With `--exports`, a clash between exports not kept is
                // nobody's concern.
                let kept = opts
                    .exports
                    .as_ref()
                    .is_none_or(|keep| keep.iter().any(|k| k == ex.name));
                match opts.on_conflict {
                    OnConflict::Error if !kept => continue,
                    OnConflict::Error => {
                        conflicts.push((
                            ex.name.to_string(),
                            files[first.as_usize()].to_string(),
                            files[i].to_string(),
                        ));
                        continue;
                    }
                    OnConflict::Skip => continue,
                    OnConflict::Rename => {
                        let mut candidate = format!("{}.{}", names[i], ex.name);
                        let mut n = 2;
                        while taken.contains_key(candidate.as_str()) {
                            candidate = format!("{}.{}#{n}", names[i], ex.name);
                            n += 1;
                        }
                        name = Cow::Owned(candidate);
                    }
                }
            }
            taken.insert(name.clone(), k);
            out.push(OutExport {
                name,
                kind: ex.kind,
                index,
            });
        }
    }
    if !conflicts.is_empty() {
        return Err(FuseError::ExportConflicts(conflicts));
    }
    if let Some(keep) = &opts.exports {
        let missing: Vec<String> = keep
            .iter()
            .filter(|n| !taken.contains_key(n.as_str()))
            .cloned()
            .collect();
        if !missing.is_empty() {
            return Err(FuseError::UnknownExports(missing));
        }
        out.retain(|e| keep.iter().any(|k| k == e.name.as_ref()));
    }
    Ok(out)
}

/// Functions whose only declaration (for `ref.func`) was an export that
/// `--exports` removed: they go into a declarative element segment.
fn undeclared<'a>(all: &[OutExport<'a>], kept: &[OutExport<'a>]) -> Vec<u32> {
    let mut keep: Vec<u32> = kept
        .iter()
        .filter(|e| Space::of_kind(e.kind) == Space::Func)
        .map(|e| e.index)
        .collect();
    keep.sort_unstable();
    let mut out: Vec<u32> = all
        .iter()
        .filter(|e| Space::of_kind(e.kind) == Space::Func)
        .map(|e| e.index)
        .filter(|i| keep.binary_search(i).is_err())
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use weld_format::Inputs;

    use crate::{fuse, FuseOptions};

    /// The error of fusing `a` (which imports from `b`) with `b`.
    fn fuse_error(a: &str, b: &str) -> String {
        let inputs =
            Inputs::from_memory([("a", a.as_bytes().to_vec()), ("b", b.as_bytes().to_vec())]).unwrap();
        fuse(&FuseOptions::default(), &inputs).unwrap_err().to_string()
    }

    fn assert_no_debug(text: &str) {
        for debug in ["RefType {", "Concrete(", "Some(", "I32", "Ref("] {
            assert!(!text.contains(debug), "{text}");
        }
    }

    /// Whether `a` (importing from `b`) fuses with `b`; the error if not.
    fn links(a: &str, b: &str) -> Result<(), String> {
        let inputs =
            Inputs::from_memory([("a", a.as_bytes().to_vec()), ("b", b.as_bytes().to_vec())]).unwrap();
        match fuse(&FuseOptions::default(), &inputs) {
            Ok(out) => {
                wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
                    .validate_all(&out.bytes)
                    .unwrap();
                Ok(())
            }
            Err(e) => {
                let e = e.to_string();
                assert_no_debug(&e);
                assert!(e.contains("type mismatch") || e.contains("expected"), "{e}");
                Err(e)
            }
        }
    }

    /// `b`: a struct hierarchy `$super <: $sub`, a function type pair, and
    /// exports of every kind typed with them.
    const GC_PROVIDER: &str = r#"(module
        (type $super (sub (struct)))
        (type $sub (sub $super (struct (field i32))))
        (type $fsuper (sub (func (result anyref))))
        (type $fsub (sub $fsuper (func (result anyref))))
        (func (export "fsub") (type $fsub) ref.null any)
        (func (export "fsuper") (type $fsuper) ref.null any)
        (global (export "sub") (ref $sub) (struct.new $sub (i32.const 1)))
        (global (export "subnull") (ref null $sub) (ref.null $sub))
        (global (export "i31") i31ref (ref.i31 (i32.const 5)))
        (global (export "msub") (mut (ref null $sub)) (ref.null $sub))
        (table (export "t") 2 10 (ref null $sub))
        (memory (export "m") 1 2)
        (tag (export "e") (param i32)))"#;

    /// `a` importing one item declared as `import`, with the same types.
    fn importer(import: &str) -> String {
        format!(
            r#"(module
                (type $super (sub (struct)))
                (type $sub (sub $super (struct (field i32))))
                (type $fsuper (sub (func (result anyref))))
                (type $fsub (sub $fsuper (func (result anyref))))
                (import "b" {import}))"#
        )
    }

    #[test]
    fn functions_match_their_declared_supertypes() {
        assert!(links(&importer(r#""fsub" (func (type $fsuper))"#), GC_PROVIDER).is_ok());
        assert!(links(&importer(r#""fsub" (func (type $fsub))"#), GC_PROVIDER).is_ok());
        let e = links(&importer(r#""fsuper" (func (type $fsub))"#), GC_PROVIDER).unwrap_err();
        assert!(e.contains("expected (func (result anyref)) (type 3 <: 2)"), "{e}");
        assert!(links(&importer(r#""fsub" (func (result i32))"#), GC_PROVIDER).is_err());
    }

    #[test]
    fn immutable_globals_are_covariant_and_mutable_ones_invariant() {
        // (ref $sub) <: (ref $super) <: (ref null $super) <: structref <: eqref <: anyref.
        for ty in [
            "(ref $super)",
            "(ref null $super)",
            "structref",
            "eqref",
            "anyref",
            "(ref struct)",
            "(ref $sub)",
        ] {
            assert!(
                links(&importer(&format!(r#""sub" (global {ty})"#)), GC_PROVIDER).is_ok(),
                "{ty}"
            );
        }
        // Nullable is not below non-null; another hierarchy is never below.
        let e = links(&importer(r#""subnull" (global (ref $super))"#), GC_PROVIDER).unwrap_err();
        assert!(
            e.ends_with("expected global (ref 0) where 0 = (struct), but `b` exports `subnull` as global (ref null 1) where 1 = (struct (field i32)) <: 0"),
            "{e}"
        );
        assert!(links(&importer(r#""sub" (global funcref)"#), GC_PROVIDER).is_err());
        assert!(links(&importer(r#""sub" (global arrayref)"#), GC_PROVIDER).is_err());
        assert!(links(&importer(r#""i31" (global eqref)"#), GC_PROVIDER).is_ok());
        assert!(links(&importer(r#""i31" (global structref)"#), GC_PROVIDER).is_err());
        // Mutable: the same type only, and mutability must agree.
        assert!(links(&importer(r#""msub" (global (mut (ref null $sub)))"#), GC_PROVIDER).is_ok());
        assert!(links(
            &importer(r#""msub" (global (mut (ref null $super)))"#),
            GC_PROVIDER
        )
        .is_err());
        assert!(links(&importer(r#""msub" (global (ref null $super))"#), GC_PROVIDER).is_err());
        assert!(links(&importer(r#""sub" (global (mut (ref $sub)))"#), GC_PROVIDER).is_err());
    }

    #[test]
    fn tables_memories_and_tags_match_by_limits_and_equal_types() {
        assert!(links(&importer(r#""t" (table 1 (ref null $sub))"#), GC_PROVIDER).is_ok());
        assert!(links(&importer(r#""t" (table 2 20 (ref null $sub))"#), GC_PROVIDER).is_ok());
        // Element types are invariant (tables are written).
        assert!(links(&importer(r#""t" (table 1 (ref null $super))"#), GC_PROVIDER).is_err());
        // Limits: at least the minimum, within the maximum.
        assert!(links(&importer(r#""t" (table 3 (ref null $sub))"#), GC_PROVIDER).is_err());
        assert!(links(&importer(r#""t" (table 1 5 (ref null $sub))"#), GC_PROVIDER).is_err());
        assert!(links(&importer(r#""m" (memory 1 2)"#), GC_PROVIDER).is_ok());
        assert!(links(&importer(r#""m" (memory 1)"#), GC_PROVIDER).is_ok());
        let e = links(&importer(r#""m" (memory 2)"#), GC_PROVIDER).unwrap_err();
        assert!(
            e.ends_with("expected memory 2, but `b` exports `m` as memory 1..2"),
            "{e}"
        );
        assert!(links(&importer(r#""m" (memory i64 1)"#), GC_PROVIDER).is_err());
        assert!(links(&importer(r#""m" (memory 1 2 shared)"#), GC_PROVIDER).is_err());
        assert!(links(&importer(r#""e" (tag (param i32))"#), GC_PROVIDER).is_ok());
        assert!(links(&importer(r#""e" (tag (param i64))"#), GC_PROVIDER).is_err());
    }

    #[test]
    fn global_mismatch_prints_ref_types_in_wat() {
        let e = fuse_error(
            r#"(module (import "b" "g" (global (mut funcref))))"#,
            r#"(module (type $t (func)) (global (export "g") (mut (ref null $t)) (ref.null $t)))"#,
        );
        assert!(
            e.ends_with(
                "type mismatch: expected global mut funcref, but `b` exports `g` as global mut (ref null 0) where 0 = (func)"
            ),
            "{e}"
        );
        assert_no_debug(&e);
    }

    #[test]
    fn global_mismatch_prints_mutability_and_value_type() {
        let e = fuse_error(
            r#"(module (import "b" "g" (global (mut i32))))"#,
            r#"(module (global (export "g") i64 (i64.const 0)))"#,
        );
        assert!(
            e.ends_with("expected global mut i32, but `b` exports `g` as global i64"),
            "{e}"
        );
        assert_no_debug(&e);
    }

    #[test]
    fn table_and_memory_mismatches_print_whole_types() {
        let e = fuse_error(
            r#"(module (import "b" "t" (table 1 externref)))"#,
            r#"(module (table (export "t") 1 2 funcref))"#,
        );
        assert!(
            e.ends_with("expected table 1 externref, but `b` exports `t` as table 1..2 funcref"),
            "{e}"
        );
        let e = fuse_error(
            r#"(module (import "b" "m" (memory 2 3)))"#,
            r#"(module (memory (export "m") 1))"#,
        );
        assert!(
            e.ends_with("expected memory 2..3, but `b` exports `m` as memory 1"),
            "{e}"
        );
        assert_no_debug(&e);
    }

    #[test]
    fn kind_mismatch_names_both_spaces() {
        let e = fuse_error(
            r#"(module (import "b" "x" (global i32)))"#,
            r#"(module (func (export "x")))"#,
        );
        assert!(
            e.ends_with("expected global, but `b` exports `x` as a func"),
            "{e}"
        );
    }
}

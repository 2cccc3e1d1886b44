//! Stage 5, **plan**, the data: [`Plan`], where every item of every input
//! lands in the fused module. Pure data; no bytes are written.
//!
//! This file holds the plan's types and their accessors and imports
//! nothing else of `fuse` but the type section's plan ([`TypePlan`], a
//! leaf): the stages that read the plan and the files that build it both
//! point here, and nothing here points back. The building, one file per
//! step, in the order [`Plan::build`] (in [`build`]) runs them:
//! [`layout`] (types, the imports that stay imports, definitions),
//! [`imports`] (every other import linked to its provider's item,
//! type-checked), [`memory_order`] (busiest memory first), [`layout`]
//! again (segments), [`coalesce`] (adjacent element segments merged);
//! then, once identical code folding has fixed the function indices,
//! [`Plan::finish`] runs [`start`] (the start function) and [`exports`].
//!
//! Output index spaces are laid out as imports first (the unresolved and
//! host imports of all inputs, identical ones merged, in instantiation
//! order), then each input's definitions in instantiation order. An import
//! satisfied by another input maps to the provider's item.

pub(crate) mod build;
pub(crate) mod coalesce;
pub(crate) mod coalesce_data;
pub(crate) mod exports;
pub(crate) mod imports;
pub(crate) mod layout;
pub(crate) mod memory_order;
pub(crate) mod merge_layout;
pub(crate) mod merge_memories;
pub(crate) mod merge_tables;
pub(crate) mod start;

use std::borrow::Cow;

use wasm_encoder::EntityType;
use wasmparser::ExternalKind;
use weld_format::rewrite::Remap;
use weld_format::{
    DataIdx, ElemIdx, FuncIdx, GlobalIdx, InputId, MemIdx, PerSpace, Space, TableIdx, TagIdx, TypeIdx,
};

use crate::fuse::types::TypePlan;

/// Marks a function that was removed, in the plan's maps.
pub const REMOVED: u32 = u32::MAX;

/// In [`Plan::body_order`]: a body replaced by `unreachable`.
pub const EMPTY: u32 = u32::MAX;

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
    pub(crate) fn push(&mut self, space: Space, out: u32) {
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
    pub module: Cow<'a, str>,
    /// Field name (owned when the resolution renamed the import).
    pub name: Cow<'a, str>,
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

/// One folded function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fold {
    /// The input it came from.
    pub input: InputId,
    /// Its index in that input's function space.
    pub func: FuncIdx,
    /// The output function it was folded into.
    pub into: FuncIdx,
}

/// Where everything goes.
#[derive(Debug)]
pub struct Plan<'a> {
    /// Instantiation order.
    pub order: Vec<InputId>,
    /// The output types.
    pub types: TypePlan,
    /// Per input (by [`InputId`]), its maps (after
    /// [`reach`](crate::fuse::reach), a removed function maps to
    /// [`REMOVED`]).
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
    /// [`coalesce`]), in output order.
    pub elems: Vec<Segment>,
    /// Where each output element segment's members start in `elems`.
    pub elem_starts: Vec<u32>,
    /// Data segments: every input's, grouped by output segment (see
    /// [`coalesce_data`]), in output order.
    pub data: Vec<Segment>,
    /// Where each output data segment's members start in `data`.
    pub data_starts: Vec<u32>,
    /// Per output data segment: its run, when it is several input
    /// segments written as one.
    pub data_runs: Vec<Option<coalesce_data::DataRun>>,
    /// Exports in output order.
    pub exports: Vec<OutExport<'a>>,
    /// The start function.
    pub start: Option<Start>,
    /// Export the start under this name instead of a start section.
    pub start_export: Option<String>,
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
    /// order, by their index among the bodies rewritten before folding
    /// ([`EMPTY`] for a body replaced by `unreachable`).
    pub body_order: Option<Vec<u32>>,
    /// How many functions [`reach`](crate::fuse::reach) removed.
    pub removed: usize,
    /// How many bodies it replaced by `unreachable`.
    pub emptied: usize,
    /// With `--merge-memories`: where each memory lives in the one
    /// memory written (the maps keep the numbering before merging).
    pub merged: Option<merge_memories::MergedLayout>,
    /// With `--merge-tables`: where each table lives in the one table
    /// written (the maps keep the numbering before merging).
    pub merged_tables: Option<merge_tables::MergedTableLayout>,
}

/// Options that shape the plan.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Export name conflicts.
    pub on_conflict: OnConflict,
    /// Keep only these exports.
    pub exports: Option<Vec<String>>,
    /// Instead of every input's exports, exactly these, in this order
    /// (`flatten`: what the component aliases, named so they cannot clash).
    pub select: Option<Vec<Selected>>,
    /// Export the start function under this name instead of writing a
    /// start section (`flatten`: the start runs after a later instance has
    /// filled a table it calls through).
    pub start_export: Option<String>,
}

/// One export of [`PlanOptions::select`]: input `input`'s export `name`,
/// exported as `out`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selected {
    /// The input.
    pub input: InputId,
    /// Its export's name.
    pub name: String,
    /// The name in the fused module.
    pub out: String,
}

impl<'a> Plan<'a> {
    /// Output memory `m` (as the maps number memories) as written: 0 once
    /// memories are merged.
    pub fn memory(&self, m: u32) -> u32 {
        match self.merged {
            Some(_) => 0,
            None => m,
        }
    }

    /// The base of output memory `m` in the memory written (0 unless
    /// memories are merged).
    pub fn memory_base(&self, m: u32) -> u64 {
        self.merged
            .as_ref()
            .and_then(|l| l.places.get(m as usize))
            .map_or(0, |p| p.base)
    }

    /// The base of output memory `m` once memories are merged; `None`
    /// when they are not.
    pub fn merged_memory_base(&self, m: u32) -> Option<u64> {
        self.merged.as_ref().map(|_| self.memory_base(m))
    }

    /// The base of output table `t` once tables are merged; `None` when
    /// they are not.
    pub fn merged_table_base(&self, t: u32) -> Option<u64> {
        self.merged_tables.as_ref().map(|_| self.table_base(t))
    }

    /// Output table `t` (as the maps number tables) as written: 0 once
    /// tables are merged.
    pub fn table(&self, t: u32) -> u32 {
        match self.merged_tables {
            Some(_) => 0,
            None => t,
        }
    }

    /// The base of output table `t` in the table written (0 unless tables
    /// are merged).
    pub fn table_base(&self, t: u32) -> u64 {
        self.merged_tables
            .as_ref()
            .and_then(|l| l.places.get(t as usize))
            .map_or(0, |p| p.base)
    }

    /// The output type of defined function `d` of input `k` (`m` is its
    /// survey), or `u32::MAX` when the input's type index has no mapping.
    pub fn defined_func_type(&self, m: &weld_format::survey::ModuleSurvey<'_>, k: InputId, d: u32) -> u32 {
        let ty = m.func_types[(m.imported.funcs + d) as usize];
        self.maps[k.as_usize()]
            .types
            .get(ty.as_usize())
            .map_or(u32::MAX, |t| t.0)
    }

    /// The input segments written as output data segment `out` (one, or
    /// a coalesced run).
    pub fn data_segment(&self, out: usize) -> &[Segment] {
        let start = self.data_starts[out] as usize;
        let end = self
            .data_starts
            .get(out + 1)
            .map_or(self.data.len(), |&e| e as usize);
        &self.data[start..end]
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
}

/// Helpers of the plan's tests.
#[cfg(test)]
pub(crate) mod testing {
    /// Fuses `inputs` (name, WAT) with the default options and checks that the
    /// output validates (the plan's tests read what was written).
    pub(crate) fn fused_wat(inputs: &[(&str, &str)]) -> crate::fuse::Fused {
        let set = weld_format::Inputs::from_memory(
            inputs.iter().map(|(n, w)| (n.to_string(), w.as_bytes().to_vec())),
        )
        .unwrap();
        let out = crate::fuse(&crate::FuseOptions::default(), &set).unwrap();
        wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
            .validate_all(&out.bytes)
            .unwrap();
        out
    }
}

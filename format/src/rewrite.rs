//! Stage 6 (bytes part), **rewrite**: a function body and a [`Remap`] → the
//! body with every index immediate renumbered.
//!
//! No IR: the body is streamed operator by operator; runs of operators that
//! carry no index that changes are copied as byte slices, and only the
//! operators that do are re-encoded (through wasm-encoder's `Reencode`, with
//! one typed hook per index space). Which operators carry which index is
//! derived from wasmparser's operator table (`for_each_visit_operator!`), by the
//! *name* of each immediate, so a new operator is re-encoded (safe) until it
//! is known to be index-free. Operators are visited as they are decoded
//! (`VisitOperator`), and a `wasmparser::Operator` is built only for those
//! that are re-encoded. A body whose remap is the identity in every space is
//! copied whole. Cost: one decode per operator when any space changes, a
//! `memcpy` otherwise.

use wasm_encoder::reencode::{Error as ReencodeError, Reencode, RoundtripReencoder};
use wasm_encoder::Encode;
use wasmparser::{
    BlockType, FrameKind, FrameStack, FuncValidator, FunctionBody, MemArg, MemArgTarget, Operator, ValType,
    VisitOperator, VisitSimdOperator, WasmModuleResources,
};

use crate::index::{DataIdx, ElemIdx, FuncIdx, GlobalIdx, MemIdx, TableIdx, TagIdx, TypeIdx};
pub use crate::merge_ops::{Bound, MergedMemories, Place};
pub use crate::merge_table_ops::MergedTables;
use crate::{merge_ops, merge_table_ops};

/// Which index spaces a [`Remap`] leaves unchanged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Identity {
    /// Types.
    pub types: bool,
    /// Functions.
    pub funcs: bool,
    /// Tables.
    pub tables: bool,
    /// Memories.
    pub memories: bool,
    /// Globals.
    pub globals: bool,
    /// Tags.
    pub tags: bool,
    /// Element segments.
    pub elems: bool,
    /// Data segments.
    pub data: bool,
}

impl Identity {
    /// Whether every space is unchanged.
    pub fn all(&self) -> bool {
        self.types
            && self.funcs
            && self.tables
            && self.memories
            && self.globals
            && self.tags
            && self.elems
            && self.data
    }
}

/// Old → new index maps of one module, one per space, each indexed by the old
/// index. Borrowed from the plan.
#[derive(Debug, Clone, Copy)]
pub struct Remap<'m> {
    /// Types.
    pub types: &'m [TypeIdx],
    /// Functions.
    pub funcs: &'m [FuncIdx],
    /// Tables.
    pub tables: &'m [TableIdx],
    /// Memories.
    pub memories: &'m [MemIdx],
    /// Globals.
    pub globals: &'m [GlobalIdx],
    /// Tags.
    pub tags: &'m [TagIdx],
    /// Element segments.
    pub elems: &'m [ElemIdx],
    /// Data segments.
    pub data: &'m [DataIdx],
}

/// An index that the remap has no entry for (the input is malformed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{space} index {index} is out of range")]
pub struct OutOfRange {
    /// The index space.
    pub space: &'static str,
    /// The index.
    pub index: u32,
}

/// A body could not be rewritten.
#[derive(Debug, thiserror::Error)]
pub enum RewriteError {
    /// The body does not decode.
    #[error("{0}")]
    Parse(#[from] wasmparser::BinaryReaderError),
    /// The body decodes but does not validate (in its own module).
    #[error("{0}")]
    Invalid(wasmparser::BinaryReaderError),
    /// An index has no mapping.
    #[error(transparent)]
    OutOfRange(#[from] OutOfRange),
    /// wasm-encoder could not translate an item.
    #[error("{0}")]
    Encode(String),
    /// An operator cannot be kept once memories are merged (see
    /// [`crate::merge_ops`]).
    #[error("{0}")]
    Merge(String),
}

impl From<ReencodeError<OutOfRange>> for RewriteError {
    fn from(e: ReencodeError<OutOfRange>) -> Self {
        match e {
            ReencodeError::UserError(e) => RewriteError::OutOfRange(e),
            ReencodeError::ParseError(e) => RewriteError::Parse(e),
            other => RewriteError::Encode(other.to_string()),
        }
    }
}

fn look<I: Copy + Into<u32>>(
    space: &'static str,
    map: &[I],
    index: u32,
) -> Result<u32, ReencodeError<OutOfRange>> {
    map.get(index as usize)
        .map(|&i| i.into())
        .ok_or(ReencodeError::UserError(OutOfRange { space, index }))
}

macro_rules! into_u32 {
    ($($t:ty),*) => {$(
        impl From<$t> for u32 {
            fn from(i: $t) -> u32 {
                i.0
            }
        }
    )*};
}
into_u32!(TypeIdx, FuncIdx, TableIdx, MemIdx, GlobalIdx, TagIdx, ElemIdx, DataIdx);

impl Reencode for Remap<'_> {
    type Error = OutOfRange;

    fn type_index(&mut self, ty: u32) -> Result<u32, ReencodeError<OutOfRange>> {
        look("type", self.types, ty)
    }
    fn function_index(&mut self, f: u32) -> Result<u32, ReencodeError<OutOfRange>> {
        look("func", self.funcs, f)
    }
    fn table_index(&mut self, t: u32) -> Result<u32, ReencodeError<OutOfRange>> {
        look("table", self.tables, t)
    }
    fn memory_index(&mut self, m: u32) -> Result<u32, ReencodeError<OutOfRange>> {
        look("memory", self.memories, m)
    }
    fn global_index(&mut self, g: u32) -> Result<u32, ReencodeError<OutOfRange>> {
        look("global", self.globals, g)
    }
    fn tag_index(&mut self, t: u32) -> Result<u32, ReencodeError<OutOfRange>> {
        look("tag", self.tags, t)
    }
    fn element_index(&mut self, e: u32) -> Result<u32, ReencodeError<OutOfRange>> {
        look("elem", self.elems, e)
    }
    fn data_index(&mut self, d: u32) -> Result<u32, ReencodeError<OutOfRange>> {
        look("data", self.data, d)
    }
}

impl Remap<'_> {
    /// Which spaces map every index to itself.
    pub fn identity(&self) -> Identity {
        fn id<I: Copy + Into<u32>>(m: &[I]) -> bool {
            m.iter().enumerate().all(|(i, &x)| x.into() == i as u32)
        }
        Identity {
            types: id(self.types),
            funcs: id(self.funcs),
            tables: id(self.tables),
            memories: id(self.memories),
            globals: id(self.globals),
            tags: id(self.tags),
            elems: id(self.elems),
            data: id(self.data),
        }
    }
}

/// Whether a value type names a concrete (indexed) type.
fn concrete(v: &ValType) -> bool {
    matches!(v, ValType::Ref(r) if r.type_index().is_some())
}

fn blockty_kept(id: &Identity, b: &BlockType) -> bool {
    id.types
        || match b {
            BlockType::Empty => true,
            BlockType::Type(v) => !concrete(v),
            BlockType::FuncType(_) => false,
        }
}

/// Whether an immediate, known by its name in wasmparser's operator table,
/// stays valid under the remap. Unknown names are assumed to change.
macro_rules! arg_kept {
    ($id:ident, blockty, $v:expr) => {
        blockty_kept($id, $v)
    };
    ($id:ident, function_index, $v:expr) => {
        $id.funcs
    };
    ($id:ident, table, $v:expr) => {
        $id.tables
    };
    ($id:ident, table_index, $v:expr) => {
        $id.tables
    };
    ($id:ident, dst_table, $v:expr) => {
        $id.tables
    };
    ($id:ident, src_table, $v:expr) => {
        $id.tables
    };
    ($id:ident, global_index, $v:expr) => {
        $id.globals
    };
    ($id:ident, memarg, $v:expr) => {
        $id.memories
    };
    ($id:ident, mem, $v:expr) => {
        $id.memories
    };
    ($id:ident, src_mem, $v:expr) => {
        $id.memories
    };
    ($id:ident, dst_mem, $v:expr) => {
        $id.memories
    };
    ($id:ident, data_index, $v:expr) => {
        $id.data
    };
    ($id:ident, elem_index, $v:expr) => {
        $id.elems
    };
    ($id:ident, tag_index, $v:expr) => {
        $id.tags
    };
    ($id:ident, type_index, $v:expr) => {
        $id.types
    };
    ($id:ident, relative_depth, $v:expr) => {
        true
    };
    ($id:ident, local_index, $v:expr) => {
        true
    };
    ($id:ident, value, $v:expr) => {
        true
    };
    ($id:ident, lane, $v:expr) => {
        true
    };
    ($id:ident, lanes, $v:expr) => {
        true
    };
    ($id:ident, targets, $v:expr) => {
        true
    };
    ($id:ident, ordering, $v:expr) => {
        true
    };
    ($id:ident, array_size, $v:expr) => {
        true
    };
    ($id:ident, field_index, $v:expr) => {
        true
    };
    ($id:ident, $other:ident, $v:expr) => {
        false
    };
}

/// An operator that must be re-encoded. The common shapes are written
/// straight from their immediates; the rest go through wasm-encoder.
enum Picked<'a> {
    /// Any operator.
    Op(Operator<'a>),
    /// An operator whose only immediates are a memarg of a linear memory
    /// with no ordering (and a lane).
    Memarg {
        /// The memory.
        mem: u32,
        /// The alignment (log 2).
        align: u8,
        /// The offset.
        offset: u64,
        /// The lane, for `v128.loadN_lane` and `v128.storeN_lane`.
        lane: Option<u8>,
    },
    /// `global.get` or `global.set`.
    Global(u32),
    /// `call`, `return_call` or `ref.func`.
    Func(u32),
    /// An operator naming a memory, when memories are merged.
    Memory(Operator<'a>),
    /// An operator naming a table, when tables are merged.
    Table(Operator<'a>),
}

/// The memory a memarg names, when it names a linear memory with no
/// ordering.
fn plain_memory(m: &MemArg) -> Option<u32> {
    match m {
        MemArg {
            target: MemArgTarget::Memory(mem),
            ordering: None,
            ..
        } => Some(*mem),
        _ => None,
    }
}

/// The re-encoding of an operator, by the names of its immediates (each
/// given twice: once to match, once to bind).
macro_rules! picked {
    (memarg $m:ident; $($full:tt)*) => {
        match plain_memory(&$m) {
            Some(mem) => Picked::Memarg { mem, align: $m.align, offset: $m.offset, lane: None },
            None => Picked::Op($($full)*),
        }
    };
    (memarg $m:ident lane $l:ident; $($full:tt)*) => {
        match plain_memory(&$m) {
            Some(mem) => Picked::Memarg { mem, align: $m.align, offset: $m.offset, lane: Some($l) },
            None => Picked::Op($($full)*),
        }
    };
    (global_index $g:ident; $($full:tt)*) => {
        Picked::Global($g)
    };
    (function_index $f:ident; $($full:tt)*) => {
        Picked::Func($f)
    };
    ($($name:ident $arg:ident)*; $($full:tt)*) => {
        Picked::Op($($full)*)
    };
}

/// Decides, operator by operator while decoding, whether the operator must
/// be re-encoded, and builds a `wasmparser::Operator` only then; the others
/// (most of them) are copied as bytes without ever being materialised.
struct Pick<'a, 'i> {
    id: &'i Identity,
    /// Function references are wanted (they are always re-encoded).
    want_refs: bool,
    /// The operator just visited, when it must be re-encoded. (Returning
    /// it from every visit would move a large value per operator.)
    picked: Option<Picked<'a>>,
    /// The operator just visited, by what it does to the control stack.
    ctl: Ctl,
    /// In dead code: how many blocks deep inside the dead region (its own
    /// block's end or next arm ends it at depth 0).
    dead: Option<u32>,
    /// The operator just visited, when it uses a table (and references are
    /// wanted).
    table_use: Option<RawTableUse>,
    /// Memories are merged: every operator naming a memory is picked whole.
    merging: bool,
    /// Tables are merged: every operator naming a table is picked whole.
    merging_tables: bool,
}

/// Whether an immediate, by its name, names a table.
macro_rules! names_table {
    (table) => {
        true
    };
    (table_index) => {
        true
    };
    (dst_table) => {
        true
    };
    (src_table) => {
        true
    };
    ($other:ident) => {
        false
    };
}

/// Whether an immediate, by its name, names a memory.
macro_rules! names_memory {
    (memarg) => {
        true
    };
    (mem) => {
        true
    };
    (src_mem) => {
        true
    };
    (dst_mem) => {
        true
    };
    ($other:ident) => {
        false
    };
}

/// Whether an operator names a function (and so is listed when references
/// are wanted).
macro_rules! names_func {
    ($s:ident, Call) => {
        $s.want_refs
    };
    ($s:ident, ReturnCall) => {
        $s.want_refs
    };
    ($s:ident, RefFunc) => {
        $s.want_refs
    };
    ($s:ident, $other:ident) => {
        false
    };
}

/// What an operator does to the control stack, for dropping dead code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctl {
    /// Nothing.
    Plain,
    /// Opens a block (`block`, `loop`, `if`, `try`, `try_table`).
    Open,
    /// Ends one (`end`, `delegate`).
    Close,
    /// Starts the next arm of the innermost block (`else`, `catch`,
    /// `catch_all`).
    Arm,
    /// Never falls through (`unreachable`, `br`, `br_table`, `return`,
    /// `return_call*`, `throw`, `rethrow`, `throw_ref`): what follows up to
    /// the end or next arm of its block is dead.
    Stop,
}

macro_rules! ctl {
    (Block) => {
        Ctl::Open
    };
    (Loop) => {
        Ctl::Open
    };
    (If) => {
        Ctl::Open
    };
    (Try) => {
        Ctl::Open
    };
    (TryTable) => {
        Ctl::Open
    };
    (End) => {
        Ctl::Close
    };
    (Delegate) => {
        Ctl::Close
    };
    (Else) => {
        Ctl::Arm
    };
    (Catch) => {
        Ctl::Arm
    };
    (CatchAll) => {
        Ctl::Arm
    };
    (Unreachable) => {
        Ctl::Stop
    };
    (Br) => {
        Ctl::Stop
    };
    (BrTable) => {
        Ctl::Stop
    };
    (Return) => {
        Ctl::Stop
    };
    (ReturnCall) => {
        Ctl::Stop
    };
    (ReturnCallIndirect) => {
        Ctl::Stop
    };
    (ReturnCallRef) => {
        Ctl::Stop
    };
    (Throw) => {
        Ctl::Stop
    };
    (Rethrow) => {
        Ctl::Stop
    };
    (ThrowRef) => {
        Ctl::Stop
    };
    ($other:ident) => {
        Ctl::Plain
    };
}

/// How a live operator uses a table, when references are wanted: an
/// indirect call by type, or a read that lets the table's references out.
macro_rules! note_table {
    ($s:ident, CallIndirect; type_index $t:ident table_index $tb:ident) => {
        $s.table_use = Some(RawTableUse::Call($tb, $t))
    };
    ($s:ident, ReturnCallIndirect; type_index $t:ident table_index $tb:ident) => {
        $s.table_use = Some(RawTableUse::Call($tb, $t))
    };
    ($s:ident, TableGet; table $tb:ident) => {
        $s.table_use = Some(RawTableUse::Read($tb))
    };
    ($s:ident, TableCopy; dst_table $d:ident src_table $tb:ident) => {
        $s.table_use = Some(RawTableUse::Read($tb))
    };
    ($s:ident, $op:ident; $($rest:tt)*) => {};
}

/// A table use in the input's numbering.
#[derive(Debug, Clone, Copy)]
enum RawTableUse {
    Call(u32, u32),
    Read(u32),
}

/// How a body uses a table (output indices): `call_indirect` or
/// `return_call_indirect` with a type, or a read (`table.get`, the source
/// of `table.copy`) after which the table's functions can be called by
/// anything. Listed for live code only, with the function references.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableUse {
    /// An indirect call through `table` with type `ty`.
    Call {
        /// The table.
        table: u32,
        /// The call's type.
        ty: u32,
    },
    /// A read of `table`.
    Read {
        /// The table.
        table: u32,
    },
}

macro_rules! define_pick {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
        $(
            #[allow(unused_variables, clippy::needless_borrow)]
            fn $visit(&mut self $($(, $arg: $argty)*)?) -> Self::Output {
                self.ctl = ctl!($op);
                // In dead code only the operator that ends it is live.
                if self.dead.is_some_and(|d| d > 0 || !matches!(self.ctl, Ctl::Close | Ctl::Arm)) {
                    return;
                }
                if self.want_refs {
                    note_table!(self, $op; $($($arg $arg)*)?);
                }
                let id = self.id;
                if self.merging && (false $($( || names_memory!($arg) )*)?) {
                    self.picked = Some(Picked::Memory(Operator::$op $({ $($arg),* })?));
                } else if self.merging_tables && (false $($( || names_table!($arg) )*)?) {
                    self.picked = Some(Picked::Table(Operator::$op $({ $($arg),* })?));
                } else if names_func!(self, $op) || !(true $($( && arg_kept!(id, $arg, &$arg) )*)?) {
                    self.picked = Some(picked!($($($arg $arg)*)?; Operator::$op $({ $($arg),* })?));
                }
            }
        )*
    };
}

impl<'a> wasmparser::VisitOperator<'a> for Pick<'a, '_> {
    type Output = ();

    fn simd_visitor(&mut self) -> Option<&mut dyn wasmparser::VisitSimdOperator<'a, Output = Self::Output>> {
        Some(self)
    }

    wasmparser::for_each_visit_operator!(define_pick);
}

impl<'a> wasmparser::VisitSimdOperator<'a> for Pick<'a, '_> {
    wasmparser::for_each_visit_simd_operator!(define_pick);
}

/// [`Pick`] and a function validator in one visit: the operator is decoded
/// once, validated in its own module, then picked.
struct Checked<'p, 'a, 'i, V> {
    v: V,
    pick: &'p mut Pick<'a, 'i>,
}

macro_rules! define_checked {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
        $(
            #[allow(clippy::clone_on_copy)]
            fn $visit(&mut self $($(, $arg: $argty)*)?) -> Self::Output {
                self.v.$visit($($($arg.clone()),*)?)?;
                VisitOperator::$visit(self.pick $($(, $arg)*)?);
                Ok(())
            }
        )*
    };
}

macro_rules! define_checked_simd {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
        $(
            #[allow(clippy::clone_on_copy)]
            fn $visit(&mut self $($(, $arg: $argty)*)?) -> Self::Output {
                // `simd_visitor` below hands out this visitor only when the
                // validator has one.
                if let Some(v) = self.v.simd_visitor() {
                    v.$visit($($($arg.clone()),*)?)?;
                }
                VisitSimdOperator::$visit(self.pick $($(, $arg)*)?);
                Ok(())
            }
        )*
    };
}

impl<'a, V: VisitOperator<'a, Output = wasmparser::Result<()>>> VisitOperator<'a> for Checked<'_, 'a, '_, V> {
    type Output = wasmparser::Result<()>;

    fn simd_visitor(&mut self) -> Option<&mut dyn VisitSimdOperator<'a, Output = Self::Output>> {
        // Without SIMD in the validator, the reader reports SIMD operators.
        self.v.simd_visitor()?;
        Some(self)
    }

    wasmparser::for_each_visit_operator!(define_checked);
}

impl<'a, V: VisitOperator<'a, Output = wasmparser::Result<()>>> VisitSimdOperator<'a>
    for Checked<'_, 'a, '_, V>
{
    wasmparser::for_each_visit_simd_operator!(define_checked_simd);
}

impl<V: FrameStack> FrameStack for Checked<'_, '_, '_, V> {
    fn current_frame(&self) -> Option<FrameKind> {
        self.v.current_frame()
    }
}

/// What scratch locals `body` needs, from one decode of its operators:
/// for its memory operators when `memories`, for its table operators when
/// `tables` (the merged tables' element type).
fn scratch_needs(
    body: &FunctionBody<'_>,
    memories: bool,
    tables: Option<wasmparser::RefType>,
) -> wasmparser::Result<merge_ops::Needs> {
    let mut n = merge_ops::Needs::default();
    let mut ops = body.get_operators_reader()?;
    while !ops.eof() {
        let mut op = ops.read()?;
        if let Some(element) = tables {
            let (any, reference) = merge_table_ops::table_needs(&op);
            n.i32 |= any;
            if reference {
                n.reference = Some(element);
            }
        }
        if memories {
            merge_ops::op_needs(&mut op, &mut n);
        }
    }
    Ok(n)
}

/// The rewriter's error for a merged memory's or table's fault.
fn fault(f: merge_ops::Fault<OutOfRange>, space: &'static str) -> RewriteError {
    match f {
        merge_ops::Fault::Remap(e) => RewriteError::from(e),
        merge_ops::Fault::NoPlace(index) => RewriteError::OutOfRange(OutOfRange { space, index }),
        merge_ops::Fault::Encode(e) => RewriteError::Encode(e),
        merge_ops::Fault::Merge(why) => RewriteError::Merge(why),
    }
}

/// The length of the opcode at `bytes[at..]`: one byte, or a prefix byte
/// and a LEB128 sub-opcode.
fn opcode_len(bytes: &[u8], at: usize) -> usize {
    match bytes[at] {
        0xfb..=0xfe => {
            1 + bytes[at + 1..]
                .iter()
                .position(|b| b & 0x80 == 0)
                .map_or(0, |n| n + 1)
        }
        _ => 1,
    }
}

/// Appends `body` (locals and operators, without its size prefix) to `out`
/// with every index renumbered by `remap`. `identity` says which spaces
/// `remap` leaves unchanged (for a [`Remap`], its `identity()`, computed once
/// per module by the caller); operators whose indices are all in unchanged
/// spaces are copied, so a remap that wants to see every index of a space
/// must report that space as changed.
pub fn rewrite_body<R: Reencode<Error = OutOfRange>>(
    remap: &mut R,
    identity: &Identity,
    body: &FunctionBody<'_>,
    out: &mut Vec<u8>,
) -> Result<(), RewriteError> {
    rewrite_body_with_refs(remap, identity, body, out, None)
}

/// One point of a body's offset map (offsets from the start of the body,
/// after its size: the first byte of its local declarations). From input
/// offset `from` on, input offset `x` is output offset `to + (x - from)`,
/// up to the next point's `to`: code left out (dead code, or an immediate
/// that got shorter) collapses onto the output offset where it would have
/// been. A body with no point is copied unchanged. See [`map_offset`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shift {
    /// Input offset.
    pub from: u32,
    /// Output offset.
    pub to: u32,
}

/// Input body offset `x` moved through the offset map `shifts` (sorted by
/// `from`, as the rewriter records them).
pub fn map_offset(shifts: &[Shift], x: u32) -> u32 {
    map_offset_at(shifts, shifts.partition_point(|s| s.from <= x), x)
}

/// [`map_offset`], given `i`, the number of points at or before `x` (for
/// a caller that walks the points in order).
pub fn map_offset_at(shifts: &[Shift], i: usize, x: u32) -> u32 {
    let (from, to) = match i {
        0 => (0, 0),
        i => (shifts[i - 1].from, shifts[i - 1].to),
    };
    let y = to as u64 + (x - from) as u64;
    match shifts.get(i) {
        Some(next) => y.min(next.to as u64) as u32,
        None => y.min(u32::MAX as u64) as u32,
    }
}

/// What [`rewrite_checked`] lists or checks on the way, besides writing
/// the body: each is optional.
pub struct Wanted<'w, T: WasmModuleResources> {
    /// Every function index the body names.
    pub refs: Option<&'w mut Vec<FuncRef>>,
    /// A validator for the body, in its own module.
    pub validator: Option<&'w mut FuncValidator<T>>,
    /// Every table use of the live code (with `refs`).
    pub tables: Option<&'w mut Vec<TableUse>>,
    /// The body's offset map (see [`Shift`]), appended.
    pub shifts: Option<&'w mut Vec<Shift>>,
    /// Every memory becomes memory 0, each at its place (see
    /// [`crate::merge_ops`]).
    pub merge: Option<MergedMemories<'w>>,
    /// Every table becomes table 0, each at its place (see
    /// [`crate::merge_table_ops`]).
    pub merge_tables: Option<MergedTables<'w>>,
}

impl<T: WasmModuleResources> std::fmt::Debug for Wanted<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wanted")
            .field("refs", &self.refs.is_some())
            .field("validator", &self.validator.is_some())
            .field("tables", &self.tables.is_some())
            .field("shifts", &self.shifts.is_some())
            .field("merge", &self.merge.is_some())
            .field("merge_tables", &self.merge_tables.is_some())
            .finish()
    }
}

impl<T: WasmModuleResources> Default for Wanted<'_, T> {
    fn default() -> Self {
        Wanted {
            refs: None,
            validator: None,
            tables: None,
            shifts: None,
            merge: None,
            merge_tables: None,
        }
    }
}

/// A function index written into a rewritten body: where its LEB128 starts
/// (relative to the start of the body) and the (new) index written there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FuncRef {
    /// Offset of the index's LEB128 in the rewritten body.
    pub at: u32,
    /// The function index written there.
    pub func: u32,
}

/// Like [`rewrite_body`], and when `refs` is given, also lists every
/// function index the body names (`call`, `return_call`, `ref.func`), so a
/// later step can hash the body without them or patch them without decoding
/// the body again.
pub fn rewrite_body_with_refs<R: Reencode<Error = OutOfRange>>(
    remap: &mut R,
    identity: &Identity,
    body: &FunctionBody<'_>,
    out: &mut Vec<u8>,
    refs: Option<&mut Vec<FuncRef>>,
) -> Result<(), RewriteError> {
    let wanted = Wanted::<wasmparser::ValidatorResources> {
        refs,
        ..Wanted::default()
    };
    rewrite_checked(remap, identity, body, out, wanted)
}

/// [`rewrite_body_with_refs`], validating the body in its own module on the
/// way when `validator` is given (made from the input's `FuncToValidate`):
/// each operator is decoded once, checked, then copied or re-encoded. With
/// `tables` (and `refs`), the live code's table uses are listed too.
pub fn rewrite_checked<R: Reencode<Error = OutOfRange>, T: WasmModuleResources>(
    remap: &mut R,
    identity: &Identity,
    body: &FunctionBody<'_>,
    out: &mut Vec<u8>,
    wanted: Wanted<'_, T>,
) -> Result<(), RewriteError> {
    let Wanted {
        mut refs,
        mut validator,
        mut tables,
        mut shifts,
        merge,
        merge_tables,
    } = wanted;
    // Merging memories (tables) moves every memory (table) operator,
    // whatever the map.
    let merged_identity = Identity {
        memories: identity.memories && merge.is_none(),
        tables: identity.tables && merge_tables.is_none(),
        ..*identity
    };
    let identity = &merged_identity;
    let bytes = body.as_bytes();
    if identity.all() && refs.is_none() && validator.is_none() {
        out.extend_from_slice(bytes);
        return Ok(());
    }
    let body_start = out.len();
    let base = body.range().start as usize;
    // The offset map: a point wherever output and input offsets stop
    // differing by the same amount.
    let mut delta = 0i64;
    let mut mark = |input: usize, out: &Vec<u8>| {
        let output = out.len() - body_start;
        let d = output as i64 - input as i64;
        if d != delta {
            delta = d;
            if let Some(s) = shifts.as_deref_mut() {
                s.push(Shift {
                    from: input as u32,
                    to: output as u32,
                });
            }
        }
    };
    // Locals: copied unless a local's type names a type that moves.
    let mut locals = body.get_locals_reader()?;
    let n = locals.get_count();
    let decls_start = locals.original_position() as usize - base;
    let mut decls = Vec::with_capacity(n.min(1024) as usize);
    let mut declared = 0u64;
    for _ in 0..n {
        let at = locals.original_position();
        let (count, ty) = locals.read()?;
        if let Some(v) = validator.as_deref_mut() {
            v.define_locals(at, count, ty).map_err(RewriteError::Invalid)?;
        }
        declared += count as u64;
        decls.push((count, ty));
    }
    let ops_start = locals.original_position() as usize - base;
    // Scratch locals for merged memories and tables go after the body's
    // own (at most 9 of them: their indices must fit).
    let params = merge.map(|m| m.params).or(merge_tables.map(|t| t.params));
    let (scratch, extra) = match params {
        Some(params) => {
            let first = u32::try_from(params as u64 + declared)
                .ok()
                .filter(|&f| f <= u32::MAX - 16)
                .ok_or_else(|| RewriteError::Merge("too many locals for scratch locals".into()))?;
            let needs = scratch_needs(body, merge.is_some(), merge_tables.map(|t| t.element))?;
            merge_ops::Scratch::declare(needs, first)
        }
        None => Default::default(),
    };
    let groups = n
        .checked_add(extra.len() as u32)
        .ok_or_else(|| RewriteError::Merge("too many local declarations for scratch locals".into()))?;
    if !identity.types && decls.iter().any(|(_, t)| concrete(t)) {
        groups.encode(out);
        for (count, ty) in decls {
            count.encode(out);
            remap.val_type(ty)?.encode(out);
        }
    } else if !extra.is_empty() {
        groups.encode(out);
        out.extend_from_slice(&bytes[decls_start..ops_start]);
    } else {
        out.extend_from_slice(&bytes[..ops_start]);
    }
    for (count, ty) in extra {
        count.encode(out);
        RoundtripReencoder
            .val_type(ty)
            .map_err(|e| RewriteError::Encode(e.to_string()))?
            .encode(out);
    }
    mark(ops_start, out);
    // Operators: copy unchanged runs, re-encode the rest.
    let mut ops = body.get_operators_reader()?;
    let mut reader = body.get_binary_reader_for_operators()?;
    let mut copied = ops_start;
    let mut pick = Pick {
        id: identity,
        want_refs: refs.is_some(),
        picked: None,
        ctl: Ctl::Plain,
        dead: None,
        table_use: None,
        merging: merge.is_some(),
        merging_tables: merge_tables.is_some(),
    };
    loop {
        // The pick is read in place below, never moved out: it is as large
        // as an `Operator`, and moving it per operator was a tenth of the
        // whole fuse's time.
        pick.picked = None;
        let at = match validator.as_deref_mut() {
            Some(v) => {
                if reader.eof() {
                    reader
                        .finish_expression(&v.visitor(reader.original_position()))
                        .map_err(RewriteError::Invalid)?;
                    break;
                }
                let at = reader.original_position() as usize;
                let mut both = Checked {
                    v: v.visitor(at as u64),
                    pick: &mut pick,
                };
                reader.visit_operator(&mut both)?.map_err(RewriteError::Invalid)?;
                at
            }
            None => {
                if ops.eof() {
                    break;
                }
                let at = ops.original_position() as usize;
                ops.visit_operator(&mut pick)?;
                at
            }
        };
        if let Some(u) = pick.table_use.take() {
            if let Some(tables) = tables.as_deref_mut() {
                tables.push(match u {
                    RawTableUse::Call(t, ty) => TableUse::Call {
                        table: remap.table_index(t)?,
                        ty: remap.type_index(ty)?,
                    },
                    RawTableUse::Read(t) => TableUse::Read {
                        table: remap.table_index(t)?,
                    },
                });
            }
        }
        let start = at - base;
        let end = match validator {
            Some(_) => reader.original_position(),
            None => ops.original_position(),
        } as usize
            - base;
        // Dead code (after an operator that never falls through, up to the
        // end or next arm of its block) is validated but not written: it
        // never runs, and the stack is polymorphic where it was.
        match (pick.dead, pick.ctl) {
            (None, Ctl::Stop) => pick.dead = Some(0),
            (None, _) => {}
            (Some(0), Ctl::Close | Ctl::Arm) => {
                pick.dead = None;
                copied = start;
                mark(start, out);
            }
            (Some(d), Ctl::Open) => {
                pick.dead = Some(d + 1);
                continue;
            }
            (Some(d), Ctl::Close) => {
                pick.dead = Some(d - 1);
                continue;
            }
            (Some(_), _) => continue,
        }
        let Some(picked) = &pick.picked else {
            if pick.dead.is_some() {
                // The stopping operator itself is live.
                out.extend_from_slice(&bytes[copied..end]);
                copied = end;
            }
            continue;
        };
        out.extend_from_slice(&bytes[copied..start]);
        copied = end;
        match picked {
            Picked::Func(f) => {
                out.push(bytes[start]);
                let func = remap.function_index(*f)?;
                if let Some(refs) = refs.as_deref_mut() {
                    refs.push(FuncRef {
                        at: (out.len() - body_start) as u32,
                        func,
                    });
                }
                func.encode(out);
            }
            Picked::Global(g) => {
                out.push(bytes[start]);
                remap.global_index(*g)?.encode(out);
            }
            Picked::Memarg {
                mem,
                align,
                offset,
                lane,
            } => {
                let op = opcode_len(bytes, start);
                out.extend_from_slice(&bytes[start..start + op]);
                let mem = remap.memory_index(*mem)?;
                if mem == 0 {
                    u32::from(*align).encode(out);
                } else {
                    u32::from(*align | 0x40).encode(out);
                    mem.encode(out);
                }
                offset.encode(out);
                out.extend(*lane);
            }
            Picked::Op(op) => remap.instruction(op.clone())?.encode(out),
            Picked::Memory(op) => match &merge {
                Some(m) => {
                    merge_ops::write(op.clone(), remap, m, &scratch, out).map_err(|f| fault(f, "memory"))?
                }
                None => remap.instruction(op.clone())?.encode(out),
            },
            Picked::Table(op) => match &merge_tables {
                Some(t) => merge_table_ops::write(op.clone(), remap, t, &scratch, out)
                    .map_err(|f| fault(f, "table"))?,
                None => remap.instruction(op.clone())?.encode(out),
            },
        }
        mark(end, out);
    }
    out.extend_from_slice(&bytes[copied..]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bodies(wat: &str) -> (Vec<u8>, usize) {
        let bytes = wat::parse_str(wat).unwrap();
        let n = crate::survey("t", &bytes)
            .unwrap()
            .as_module()
            .unwrap()
            .bodies
            .len();
        (bytes, n)
    }

    fn rewrite_all(bytes: &[u8], remap: &mut Remap<'_>) -> Vec<Vec<u8>> {
        let s = crate::survey("t", bytes).unwrap();
        let id = remap.identity();
        s.as_module()
            .unwrap()
            .bodies
            .iter()
            .map(|b| {
                let mut out = Vec::new();
                rewrite_body(remap, &id, b, &mut out).unwrap();
                out
            })
            .collect()
    }

    const WAT: &str = r#"(module
        (type $t (func (param i32) (result i32)))
        (import "env" "f" (func $f (type $t)))
        (global $g (mut i32) (i32.const 0))
        (memory 1)
        (table 2 funcref)
        (func $h (type $t)
          local.get 0
          call $f
          global.get $g
          i32.add
          i32.const 0
          call_indirect (type $t)
          i32.load offset=4
          (block (result i32) i32.const 1)
          drop))"#;

    #[test]
    fn identity_remap_copies_body_byte_for_byte() {
        let (bytes, _) = bodies(WAT);
        let s = crate::survey("t", &bytes).unwrap();
        let m = s.as_module().unwrap();
        let (types, funcs) = ([TypeIdx(0)], [FuncIdx(0), FuncIdx(1)]);
        let mut remap = Remap {
            types: &types,
            funcs: &funcs,
            tables: &[TableIdx(0)],
            memories: &[MemIdx(0)],
            globals: &[GlobalIdx(0)],
            tags: &[],
            elems: &[],
            data: &[],
        };
        assert!(remap.identity().all());
        let out = rewrite_all(&bytes, &mut remap);
        assert_eq!(out[0], m.bodies[0].as_bytes());
    }

    #[test]
    fn remaps_every_index_and_keeps_the_rest() {
        let (bytes, _) = bodies(WAT);
        let (types, funcs, globals) = ([TypeIdx(3)], [FuncIdx(7), FuncIdx(200)], [GlobalIdx(5)]);
        let mut remap = Remap {
            types: &types,
            funcs: &funcs,
            tables: &[TableIdx(0)],
            memories: &[MemIdx(0)],
            globals: &globals,
            tags: &[],
            elems: &[],
            data: &[],
        };
        let out = rewrite_all(&bytes, &mut remap);
        // Read the rewritten body back and check each index.
        let mut body = Vec::new();
        (out[0].len() as u32).encode(&mut body);
        body.extend_from_slice(&out[0]);
        let reader = wasmparser::BinaryReader::new(&body, 0);
        let fb = wasmparser::FunctionBody::new(reader.clone().read_reader().unwrap());
        let ops: Vec<wasmparser::Operator<'_>> = fb
            .get_operators_reader()
            .unwrap()
            .into_iter()
            .map(|o| o.unwrap())
            .collect();
        let memarg = wasmparser::MemArg {
            align: 2,
            max_align: 2,
            offset: 4,
            target: wasmparser::MemArgTarget::Memory(0),
            ordering: None,
        };
        for want in [
            wasmparser::Operator::Call { function_index: 7 },
            wasmparser::Operator::GlobalGet { global_index: 5 },
            wasmparser::Operator::CallIndirect {
                type_index: 3,
                table_index: 0,
            },
            wasmparser::Operator::I32Load { memarg },
            wasmparser::Operator::LocalGet { local_index: 0 },
        ] {
            assert!(ops.contains(&want), "{want:?} not in {ops:?}");
        }
    }

    #[test]
    fn out_of_range_index_is_an_error_not_a_panic() {
        let bytes = wat::parse_str("(module (func $a call $b) (func $b))").unwrap();
        let s = crate::survey("t", &bytes).unwrap();
        let body = &s.as_module().unwrap().bodies[0];
        // A map that moves func 0 but has no entry for func 1.
        let mut remap = Remap {
            types: &[TypeIdx(0)],
            funcs: &[FuncIdx(5)],
            tables: &[],
            memories: &[],
            globals: &[],
            tags: &[],
            elems: &[],
            data: &[],
        };
        let id = remap.identity();
        let err = rewrite_body(&mut remap, &id, body, &mut Vec::new()).unwrap_err();
        assert!(
            matches!(
                err,
                RewriteError::OutOfRange(OutOfRange {
                    space: "func",
                    index: 1
                })
            ),
            "{err}"
        );
    }
}

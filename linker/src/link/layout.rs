//! Stage 2 of `weld link` (after the `needed` closure): check each library
//! against what its `dylink.0` claims, then lay out the one memory and the
//! one table.
//!
//! Memory: the stack first (`[0, stack)`, `__stack_pointer` at its top),
//! then each library's `mem-info` area at its alignment, in load order, then
//! `__heap_base` (aligned to 16) up to `__heap_end`, the end of the initial
//! memory. Table: slot 0 stays null, then each library's `table-info` slots
//! at their alignment, in load order, then the slots of the GOT's function
//! entries (placed by the binder).

use wasmparser::{ConstExpr, DataKind, ElementItems, ElementKind, Operator, TypeRef};
use weld_format::dylink::Dylink;
use weld_format::survey::ModuleSurvey;
use weld_format::{InputId, Item};

use super::LinkError;
use crate::error::{LibraryFault, Overflow, Segment};
use crate::resolve::symbols::LayoutSymbol;

/// Where one library lives.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct LibLayout {
    /// Its `__memory_base`.
    pub memory_base: u32,
    /// Bytes reserved (its `mem-info` memory size).
    pub memory_size: u32,
    /// Its `__table_base`.
    pub table_base: u32,
    /// Slots reserved (its `mem-info` table size).
    pub table_size: u32,
}

/// The memory and table of the linked module.
#[derive(Debug, Clone, Default)]
pub(crate) struct Layout {
    /// Per input.
    pub libs: Vec<LibLayout>,
    /// The top of the stack (`__stack_pointer`'s initial value).
    pub stack_high: u32,
    /// `__heap_base`.
    pub heap_base: u32,
    /// `__heap_end`: the end of the initial memory.
    pub heap_end: u64,
    /// Initial memory, in 64 KiB pages.
    pub pages: u64,
    /// The first table slot after every library's slots.
    pub table_end: u32,
}

impl Layout {
    /// The value of a symbol the linker defines.
    pub fn value(&self, symbol: LayoutSymbol) -> u32 {
        match symbol {
            LayoutSymbol::StackHigh => self.stack_high,
            LayoutSymbol::StackLow => 0,
            LayoutSymbol::HeapBase => self.heap_base,
            LayoutSymbol::HeapEnd => self.heap_end as u32,
        }
    }
}

const PAGE: u64 = 65536;

fn align(x: u64, log2: u32) -> u64 {
    let a = 1u64 << log2;
    x.div_ceil(a) * a
}

/// Lays out `load_order`'s libraries after a stack of `stack_size` bytes.
pub(crate) fn layout(
    load_order: &[InputId],
    files: &[&str],
    libs: &[&ModuleSurvey<'_>],
    dylink: &[Dylink<'_>],
    stack_size: u32,
) -> Result<Layout, LinkError> {
    let mut out = Layout {
        libs: vec![LibLayout::default(); libs.len()],
        ..Layout::default()
    };
    let stack = align(stack_size as u64, 4);
    let mut mem = stack;
    let mut table = 1u64;
    let mut min_pages = 0u64;
    for &k in load_order {
        let d = &dylink[k.as_usize()];
        check(files[k.as_usize()], libs[k.as_usize()], d)?;
        let base = align(mem, d.memory_align);
        let tbase = align(table, d.table_align);
        mem = base + d.memory_size as u64;
        table = tbase + d.table_size as u64;
        if mem > u32::MAX as u64 {
            return Err(LinkError::Layout(Overflow::Data));
        }
        if table > u32::MAX as u64 {
            return Err(LinkError::Layout(Overflow::Tables));
        }
        out.libs[k.as_usize()] = LibLayout {
            memory_base: base as u32,
            memory_size: d.memory_size,
            table_base: tbase as u32,
            table_size: d.table_size,
        };
        for imp in &libs[k.as_usize()].imports {
            if let TypeRef::Memory(m) = imp.ty {
                min_pages = min_pages.max(m.initial);
            }
        }
    }
    let heap_base = align(mem, 4);
    let pages = heap_base.div_ceil(PAGE).max(min_pages).max(1);
    if pages * PAGE > u32::MAX as u64 {
        return Err(LinkError::Layout(Overflow::DataAndStack));
    }
    out.stack_high = stack as u32;
    out.heap_base = heap_base as u32;
    out.pages = pages;
    out.heap_end = pages * PAGE;
    out.table_end = table as u32;
    Ok(out)
}

/// Where an offset expression of a library puts a segment: relative to a
/// base global (`global.get base` plus an optional constant), or fixed.
enum Offset {
    Relative(u64),
    Fixed,
    Other,
}

fn offset(expr: &ConstExpr<'_>, base_global: Option<u32>) -> Offset {
    let mut ops = expr.get_operators_reader();
    let mut seq = Vec::new();
    while !ops.eof() {
        match ops.read() {
            Ok(Operator::End) => break,
            Ok(op) => seq.push(op),
            Err(_) => return Offset::Other,
        }
    }
    match seq.as_slice() {
        [Operator::GlobalGet { global_index }] if Some(*global_index) == base_global => Offset::Relative(0),
        [Operator::GlobalGet { global_index }, Operator::I32Const { value }, Operator::I32Add]
            if Some(*global_index) == base_global =>
        {
            Offset::Relative(*value as u32 as u64)
        }
        [Operator::I32Const { .. }] | [Operator::I64Const { .. }] => Offset::Fixed,
        _ => Offset::Other,
    }
}

/// The global index of the import `env`.`name`, if the library has it.
fn env_global(m: &ModuleSurvey<'_>, name: &str) -> Option<u32> {
    let mut g = 0;
    for imp in &m.imports {
        if let TypeRef::Global(_) = imp.ty {
            if imp.module == "env" && imp.name == name {
                return Some(g);
            }
            g += 1;
        }
    }
    None
}

/// A shared library's own claims, checked: it is position-independent (no
/// memory or table of its own, segments relative to its bases), single
/// threaded, and its segments fit what `mem-info` reserves.
fn check(file: &str, m: &ModuleSurvey<'_>, d: &Dylink<'_>) -> Result<(), LinkError> {
    if !m.memories.is_empty() {
        return Err(LibraryFault::OwnMemory.at(file, None, None));
    }
    if !m.tables.is_empty() {
        return Err(LibraryFault::OwnTable.at(file, None, None));
    }
    for imp in &m.imports {
        let fault = match imp.ty {
            TypeRef::Memory(mt) if mt.shared => LibraryFault::SharedMemory,
            TypeRef::Memory(mt) if mt.memory64 => LibraryFault::Memory64,
            _ if imp.module == "env" && imp.name == "__tls_base" => LibraryFault::ThreadLocal,
            _ => continue,
        };
        return Err(fault.at(file, Some(Item::import(imp)), None));
    }
    let memory_base = env_global(m, "__memory_base");
    for (i, seg) in m.data.iter().enumerate() {
        if let DataKind::Active { offset_expr, .. } = &seg.kind {
            let segment = Segment::Data(i as u32);
            check_segment(
                segment,
                memory_base,
                d.memory_size,
                offset_expr,
                seg.data.len() as u64,
            )
            .map_err(|fault| fault.at(file, None, Some(seg.range.start)))?;
        }
    }
    let table_base = env_global(m, "__table_base");
    for (i, seg) in m.elements.iter().enumerate() {
        if let ElementKind::Active { offset_expr, .. } = &seg.kind {
            let count = match &seg.items {
                ElementItems::Functions(r) => r.count(),
                ElementItems::Expressions(_, r) => r.count(),
            };
            let segment = Segment::Elem(i as u32);
            check_segment(segment, table_base, d.table_size, offset_expr, count as u64)
                .map_err(|fault| fault.at(file, None, Some(seg.range.start)))?;
        }
    }
    Ok(())
}

/// One active segment of a library, `len` bytes or slots long: it must sit
/// at its base global (`base`, its index in the library) plus a constant,
/// within the `reserved` bytes or slots of `mem-info`.
fn check_segment(
    segment: Segment,
    base: Option<u32>,
    reserved: u32,
    offset_expr: &ConstExpr<'_>,
    len: u64,
) -> Result<(), LibraryFault> {
    match offset(offset_expr, base) {
        Offset::Relative(at) if at + len > reserved as u64 => Err(LibraryFault::PastReserved {
            segment,
            end: at + len,
            reserved,
        }),
        Offset::Relative(_) => Ok(()),
        Offset::Fixed => Err(LibraryFault::FixedSegment { segment }),
        Offset::Other => Err(LibraryFault::UnrelatedOffset { segment }),
    }
}

//! Stage 6 (bytes part), **merged tables**: what the body rewriter writes
//! for a table operator once the output's tables are one.
//!
//! The tables' counterpart of [`crate::merge_ops`], with the same
//! [`Place`]s (in elements): an index into a table that keeps its initial
//! size is checked against that size, an index into the last table (the
//! only one that may grow) against the merged table's size less the base,
//! then moved by the base. A failed check traps as an out-of-bounds table
//! access does, with a `table.get` past any table. `table.size`,
//! `table.grow`, `table.fill`, `table.copy` and `table.init` are written
//! out in terms of the merged table. Operands above the index are parked
//! in the body's scratch locals (a reference local of the tables' element
//! type for `table.set` and `table.fill`).

use wasm_encoder::reencode::Reencode;
use wasm_encoder::{BlockType, Instruction};
use wasmparser::{Operator, RefType};

use crate::merge_ops::{check_range_with, park3, put, rebased, Bound, Fault, Place, Scratch};

/// What the rewriter needs to merge tables in one body.
#[derive(Debug, Clone, Copy)]
pub struct MergedTables<'m> {
    /// Per output table (as the remap numbers them before merging).
    pub places: &'m [Place],
    /// The element type every merged table has.
    pub element: RefType,
    /// The body's function's parameter count (scratch locals go after its
    /// own locals).
    pub params: u32,
}

/// Whether `op` names a table and needs scratch locals: `(any, a
/// reference)`.
pub(crate) fn table_needs(op: &Operator<'_>) -> (bool, bool) {
    match op {
        Operator::TableSet { .. } | Operator::TableFill { .. } => (true, true),
        Operator::CallIndirect { .. }
        | Operator::ReturnCallIndirect { .. }
        | Operator::TableGet { .. }
        | Operator::TableGrow { .. }
        | Operator::TableCopy { .. }
        | Operator::TableInit { .. } => (true, false),
        _ => (false, false),
    }
}

/// Traps as an out-of-bounds table access does: a `table.get` of index
/// `u32::MAX`, past any table. The stack is polymorphic after it.
fn out_of_bounds(out: &mut Vec<u8>) {
    put(
        out,
        &[
            Instruction::I32Const(-1),
            Instruction::TableGet(0),
            Instruction::Drop,
            Instruction::Unreachable,
        ],
    );
}

/// Pushes `place`'s current size (an `i32`): fixed, or the merged
/// table's size less the base.
fn size32(place: &Place, out: &mut Vec<u8>) {
    match place.bound {
        Bound::Fixed { size, .. } => put(out, &[Instruction::I32Const(size as u32 as i32)]),
        Bound::Last => put(
            out,
            &[
                Instruction::TableSize(0),
                Instruction::I32Const(place.base as u32 as i32),
                Instruction::I32Sub,
            ],
        ),
    }
}

/// Traps unless local `at` indexes `place`'s table.
fn check_index(at: u32, place: &Place, out: &mut Vec<u8>) {
    put(out, &[Instruction::LocalGet(at)]);
    size32(place, out);
    put(out, &[Instruction::I32GeU, Instruction::If(BlockType::Empty)]);
    out_of_bounds(out);
    put(out, &[Instruction::End]);
}

/// Traps unless `[local at, at + local len)` lies in `place`'s table.
fn check_range(at: u32, len: u32, place: &Place, out: &mut Vec<u8>) {
    let limit = |out: &mut Vec<u8>| {
        size32(place, out);
        put(out, &[Instruction::I64ExtendI32U]);
    };
    check_range_with(at, len, out, limit, out_of_bounds);
}

fn unsupported<E>(what: &str) -> Fault<E> {
    Fault::Merge(format!("{what} cannot be kept once tables are merged"))
}

/// Writes what stands for table operator `op` (input numbering) in the
/// merged table.
pub(crate) fn write<R: Reencode>(
    op: Operator<'_>,
    remap: &mut R,
    merged: &MergedTables<'_>,
    scratch: &Scratch,
    out: &mut Vec<u8>,
) -> Result<(), Fault<R::Error>> {
    let place = |remap: &mut R, t: u32| -> Result<Place, Fault<R::Error>> {
        let m = remap.table_index(t)?;
        merged.places.get(m as usize).copied().ok_or(Fault::NoPlace(t))
    };
    let (a, x, n, r) = (
        scratch.first,
        scratch.first + 1,
        scratch.first + 2,
        scratch.reference,
    );
    match op {
        Operator::CallIndirect {
            type_index,
            table_index,
        }
        | Operator::ReturnCallIndirect {
            type_index,
            table_index,
        } => {
            let p = place(remap, table_index)?;
            put(out, &[Instruction::LocalSet(a)]);
            check_index(a, &p, out);
            rebased(a, &p, out);
            let type_index = remap.type_index(type_index)?;
            let call = match op {
                Operator::CallIndirect { .. } => Instruction::CallIndirect {
                    type_index,
                    table_index: 0,
                },
                _ => Instruction::ReturnCallIndirect {
                    type_index,
                    table_index: 0,
                },
            };
            put(out, &[call]);
        }
        Operator::TableGet { table } => {
            let p = place(remap, table)?;
            put(out, &[Instruction::LocalSet(a)]);
            check_index(a, &p, out);
            rebased(a, &p, out);
            put(out, &[Instruction::TableGet(0)]);
        }
        Operator::TableSet { table } => {
            let p = place(remap, table)?;
            put(out, &[Instruction::LocalSet(r), Instruction::LocalSet(a)]);
            check_index(a, &p, out);
            rebased(a, &p, out);
            put(out, &[Instruction::LocalGet(r), Instruction::TableSet(0)]);
        }
        Operator::TableSize { table } => size32(&place(remap, table)?, out),
        Operator::TableGrow { table } => {
            let p = place(remap, table)?;
            match p.bound {
                Bound::Fixed { growable: true, .. } => {
                    return Err(unsupported(&format!(
                        "table.grow of table {table}, which may grow but is not the last table,"
                    )))
                }
                // At its maximum already: growing by 0 gives its size,
                // anything else fails (the initial value is dropped).
                Bound::Fixed { size, .. } => put(
                    out,
                    &[
                        Instruction::LocalSet(a),
                        Instruction::Drop,
                        Instruction::LocalGet(a),
                        Instruction::If(BlockType::Result(wasm_encoder::ValType::I32)),
                        Instruction::I32Const(-1),
                        Instruction::Else,
                        Instruction::I32Const(size as u32 as i32),
                        Instruction::End,
                    ],
                ),
                Bound::Last => put(
                    out,
                    &[
                        Instruction::TableGrow(0),
                        Instruction::LocalTee(a),
                        Instruction::I32Const(-1),
                        Instruction::I32Eq,
                        Instruction::If(BlockType::Result(wasm_encoder::ValType::I32)),
                        Instruction::I32Const(-1),
                        Instruction::Else,
                        Instruction::LocalGet(a),
                        Instruction::I32Const(p.base as u32 as i32),
                        Instruction::I32Sub,
                        Instruction::End,
                    ],
                ),
            }
        }
        Operator::TableFill { table } => {
            let p = place(remap, table)?;
            put(
                out,
                &[
                    Instruction::LocalSet(n),
                    Instruction::LocalSet(r),
                    Instruction::LocalSet(a),
                ],
            );
            check_range(a, n, &p, out);
            rebased(a, &p, out);
            put(
                out,
                &[
                    Instruction::LocalGet(r),
                    Instruction::LocalGet(n),
                    Instruction::TableFill(0),
                ],
            );
        }
        Operator::TableCopy { dst_table, src_table } => {
            let (pd, ps) = (place(remap, dst_table)?, place(remap, src_table)?);
            park3(scratch, out);
            check_range(a, n, &pd, out);
            check_range(x, n, &ps, out);
            rebased(a, &pd, out);
            rebased(x, &ps, out);
            put(
                out,
                &[
                    Instruction::LocalGet(n),
                    Instruction::TableCopy {
                        src_table: 0,
                        dst_table: 0,
                    },
                ],
            );
        }
        Operator::TableInit { elem_index, table } => {
            let p = place(remap, table)?;
            park3(scratch, out);
            check_range(a, n, &p, out);
            rebased(a, &p, out);
            put(
                out,
                &[
                    Instruction::LocalGet(x),
                    Instruction::LocalGet(n),
                    Instruction::TableInit {
                        elem_index: remap.element_index(elem_index)?,
                        table: 0,
                    },
                ],
            );
        }
        _ => return Err(unsupported("a table operator of a proposal weld does not merge")),
    }
    Ok(())
}

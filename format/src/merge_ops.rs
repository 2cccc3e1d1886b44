//! Stage 6 (bytes part), **merged memories**: what the body rewriter
//! writes for a memory operator once the output's memories are one.
//!
//! Each memory of the output before merging has a [`Place`]: the
//! address where its bytes start in the merged memory, and how its bounds
//! are kept. Every access keeps the trap of the memory it named:
//! - a [`Bound::Fixed`] memory (one that never grows) is checked against
//!   its own size before the access, with the operands above the address
//!   parked in scratch locals for the check, then moved by its base
//!   (`memarg.offset` + base);
//! - the [`Bound::Last`] memory, the only one that may grow, ends where the
//!   merged memory ends, so the engine's own bounds check is exactly its
//!   own and moving the offset by the base is enough: with the offset
//!   added in the immediate, the effective address is computed without
//!   wrapping, as the engine computes it.
//!
//! A failed check, or an access that can never be in bounds (offset past
//! the memory), traps as an out-of-bounds access, with a load past any
//! 32-bit memory. `memory.size`, `memory.grow`, `memory.fill`,
//! `memory.copy` and `memory.init` are written out in terms of the merged
//! memory. Cost: one decode of each body up front, for the scratch locals
//! it needs.

use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasm_encoder::{BlockType, Encode, Instruction};
use wasmparser::{MemArg, MemArgTarget, Operator, ValType};

use wasm_encoder::reencode::Error as ReencodeError;

/// Why an operator could not be written for the merged memory (the
/// rewriter turns it into its own error).
#[derive(Debug)]
pub(crate) enum Fault<E> {
    /// The remap failed.
    Remap(ReencodeError<E>),
    /// A memory with no place (the input is malformed).
    NoPlace(u32),
    /// wasm-encoder could not write the operator.
    Encode(String),
    /// The operator cannot be kept.
    Merge(String),
}

impl<E> From<ReencodeError<E>> for Fault<E> {
    fn from(e: ReencodeError<E>) -> Self {
        Fault::Remap(e)
    }
}

/// How one memory's accesses keep their bounds in the merged memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// A memory (or table) that keeps its initial size: accesses are
    /// checked against `size`. `growable` says its type would let it grow,
    /// so a `memory.grow` of it that would have succeeded cannot be kept
    /// (an error).
    Fixed {
        /// Its size: bytes of a memory, elements of a table.
        size: u64,
        /// Its maximum is above its minimum.
        growable: bool,
    },
    /// The last memory, which ends where the merged memory ends and grows
    /// with it.
    Last,
}

/// Where one memory (or table) of the output, before merging, lives in the
/// merged one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    /// The address of its first byte (a multiple of the page size), or
    /// the index of a table's first element.
    pub base: u64,
    /// How its bounds are kept.
    pub bound: Bound,
}

/// What the rewriter needs to merge memories in one body.
#[derive(Debug, Clone, Copy)]
pub struct MergedMemories<'m> {
    /// Per output memory (as the remap numbers them before merging).
    pub places: &'m [Place],
    /// The body's function's parameter count (scratch locals go after its
    /// own locals).
    pub params: u32,
}

/// The operands above the address of each memory access, deepest first,
/// with its memarg; `None` for an operator that is not a memory access.
/// Listed one by one, so a new access operator is refused rather than
/// guessed.
pub(crate) fn access<'o>(op: &'o mut Operator<'_>) -> Option<(&'o mut MemArg, &'static [ValType])> {
    use Operator::*;
    use ValType::{F32, F64, I32, I64, V128};
    macro_rules! shapes {
        ($($tys:expr => $($name:ident)|+;)*) => {
            match op {
                $($($name { memarg, .. })|+ => Some((memarg, $tys)),)*
                _ => None,
            }
        };
    }
    shapes! {
        &[] => I32Load | I64Load | F32Load | F64Load | I32Load8S | I32Load8U | I32Load16S
            | I32Load16U | I64Load8S | I64Load8U | I64Load16S | I64Load16U | I64Load32S
            | I64Load32U | I32AtomicLoad | I64AtomicLoad | I32AtomicLoad8U | I32AtomicLoad16U
            | I64AtomicLoad8U | I64AtomicLoad16U | I64AtomicLoad32U | V128Load | V128Load8x8S
            | V128Load8x8U | V128Load16x4S | V128Load16x4U | V128Load32x2S | V128Load32x2U
            | V128Load8Splat | V128Load16Splat | V128Load32Splat | V128Load64Splat
            | V128Load32Zero | V128Load64Zero;
        &[I32] => I32Store | I32Store8 | I32Store16 | I32AtomicStore | I32AtomicStore8
            | I32AtomicStore16 | MemoryAtomicNotify | I32AtomicRmwAdd | I32AtomicRmw8AddU
            | I32AtomicRmw16AddU | I32AtomicRmwSub | I32AtomicRmw8SubU | I32AtomicRmw16SubU
            | I32AtomicRmwAnd | I32AtomicRmw8AndU | I32AtomicRmw16AndU | I32AtomicRmwOr
            | I32AtomicRmw8OrU | I32AtomicRmw16OrU | I32AtomicRmwXor | I32AtomicRmw8XorU
            | I32AtomicRmw16XorU | I32AtomicRmwXchg | I32AtomicRmw8XchgU | I32AtomicRmw16XchgU;
        &[I64] => I64Store | I64Store8 | I64Store16 | I64Store32 | I64AtomicStore
            | I64AtomicStore8 | I64AtomicStore16 | I64AtomicStore32 | I64AtomicRmwAdd
            | I64AtomicRmw8AddU | I64AtomicRmw16AddU | I64AtomicRmw32AddU | I64AtomicRmwSub
            | I64AtomicRmw8SubU | I64AtomicRmw16SubU | I64AtomicRmw32SubU | I64AtomicRmwAnd
            | I64AtomicRmw8AndU | I64AtomicRmw16AndU | I64AtomicRmw32AndU | I64AtomicRmwOr
            | I64AtomicRmw8OrU | I64AtomicRmw16OrU | I64AtomicRmw32OrU | I64AtomicRmwXor
            | I64AtomicRmw8XorU | I64AtomicRmw16XorU | I64AtomicRmw32XorU | I64AtomicRmwXchg
            | I64AtomicRmw8XchgU | I64AtomicRmw16XchgU | I64AtomicRmw32XchgU;
        &[F32] => F32Store;
        &[F64] => F64Store;
        &[V128] => V128Store | V128Load8Lane | V128Load16Lane | V128Load32Lane | V128Load64Lane
            | V128Store8Lane | V128Store16Lane | V128Store32Lane | V128Store64Lane;
        &[I32, I32] => I32AtomicRmwCmpxchg | I32AtomicRmw8CmpxchgU | I32AtomicRmw16CmpxchgU;
        &[I64, I64] => I64AtomicRmwCmpxchg | I64AtomicRmw8CmpxchgU | I64AtomicRmw16CmpxchgU
            | I64AtomicRmw32CmpxchgU | MemoryAtomicWait64;
        &[I32, I64] => MemoryAtomicWait32;
    }
}

/// The scratch locals a body needs: which kinds of values its memory
/// operators park.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Needs {
    pub(crate) i32: bool,
    i64: bool,
    f32: bool,
    f64: bool,
    v128: bool,
    /// A local of the merged tables' element type.
    pub(crate) reference: Option<wasmparser::RefType>,
}

/// What scratch locals memory operator `op` needs (none for another
/// operator), added to `n`.
pub(crate) fn op_needs(op: &mut Operator<'_>, n: &mut Needs) {
    if let Some((_, above)) = access(op) {
        n.i32 = true;
        for t in above {
            match t {
                ValType::I64 => n.i64 = true,
                ValType::F32 => n.f32 = true,
                ValType::F64 => n.f64 = true,
                ValType::V128 => n.v128 = true,
                _ => {}
            }
        }
    } else if matches!(
        op,
        Operator::MemoryGrow { .. }
            | Operator::MemoryFill { .. }
            | Operator::MemoryCopy { .. }
            | Operator::MemoryInit { .. }
    ) {
        n.i32 = true;
    }
}

/// The scratch locals of one body: three `i32`, then as needed two `i64`,
/// an `f32`, an `f64`, a `v128` and a reference.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Scratch {
    /// The first of the three `i32`.
    pub(crate) first: u32,
    i64: u32,
    f32: u32,
    f64: u32,
    v128: u32,
    /// The reference (for merged tables).
    pub(crate) reference: u32,
}

impl Scratch {
    /// The local declarations to append for `needs`, and where each kind
    /// lives, the first scratch local being `first`.
    pub(crate) fn declare(needs: Needs, first: u32) -> (Scratch, Vec<(u32, ValType)>) {
        let mut decls = Vec::new();
        let mut next = first;
        let mut add = |n: u32, ty: ValType, want: bool| {
            let at = next;
            if want {
                decls.push((n, ty));
                next += n;
            }
            at
        };
        let any = needs.i32 || needs.i64 || needs.f32 || needs.f64 || needs.v128;
        let first = add(3, ValType::I32, any);
        let s = Scratch {
            first,
            i64: add(2, ValType::I64, needs.i64),
            f32: add(1, ValType::F32, needs.f32),
            f64: add(1, ValType::F64, needs.f64),
            v128: add(1, ValType::V128, needs.v128),
            reference: match needs.reference {
                Some(r) => add(1, ValType::Ref(r), true),
                None => 0,
            },
        };
        (s, decls)
    }

    /// The local holding the `nth` parked value of type `ty`.
    fn value(&self, ty: ValType, nth: u32) -> u32 {
        match ty {
            ValType::I64 => self.i64 + nth,
            ValType::F32 => self.f32,
            ValType::F64 => self.f64,
            ValType::V128 => self.v128,
            _ => self.first + 1 + nth,
        }
    }
}

/// Traps as an out-of-bounds access does (the same trap as the access it
/// stands for): a load at an address past any 32-bit memory. The stack is
/// polymorphic after it.
fn out_of_bounds(out: &mut Vec<u8>) {
    let past = wasm_encoder::MemArg {
        offset: u32::MAX as u64,
        align: 0,
        target: wasm_encoder::MemArgTarget::Memory(0),
        ordering: None,
    };
    put(
        out,
        &[
            Instruction::I32Const(-1),
            Instruction::I32Load8U(past),
            Instruction::Drop,
            Instruction::Unreachable,
        ],
    );
}

/// Encodes `ins` into `out`.
pub(crate) fn put(out: &mut Vec<u8>, ins: &[Instruction<'_>]) {
    for i in ins {
        i.encode(out);
    }
}

const PAGE: u64 = 65536;

/// The merged memory's size in bytes, less `base`: the last memory's
/// current size (an `i64` on the stack).
fn limit(place: &Place, out: &mut Vec<u8>) {
    match place.bound {
        Bound::Fixed { size: bytes, .. } => put(out, &[Instruction::I64Const(bytes as i64)]),
        Bound::Last => put(
            out,
            &[
                Instruction::MemorySize(0),
                Instruction::I64ExtendI32U,
                Instruction::I64Const(16),
                Instruction::I64Shl,
                Instruction::I64Const(place.base as i64),
                Instruction::I64Sub,
            ],
        ),
    }
}

/// Traps unless `[local at, at + local len)` lies in `place`'s memory.
fn check_range(at: u32, len: u32, place: &Place, out: &mut Vec<u8>) {
    check_range_with(at, len, out, |out| limit(place, out), out_of_bounds);
}

/// Traps (with `trap`) unless `[local at, at + local len)` ends at or
/// below the `i64` that `limit` pushes: the range check of a bulk
/// operator, shared by memories and tables.
pub(crate) fn check_range_with(
    at: u32,
    len: u32,
    out: &mut Vec<u8>,
    limit: impl FnOnce(&mut Vec<u8>),
    trap: fn(&mut Vec<u8>),
) {
    put(
        out,
        &[
            Instruction::LocalGet(at),
            Instruction::I64ExtendI32U,
            Instruction::LocalGet(len),
            Instruction::I64ExtendI32U,
            Instruction::I64Add,
        ],
    );
    limit(out);
    put(out, &[Instruction::I64GtU, Instruction::If(BlockType::Empty)]);
    trap(out);
    put(out, &[Instruction::End]);
}

/// Pops the three operands of a bulk operator into scratch locals `a`,
/// `x`, `n` (deepest first).
pub(crate) fn park3(s: &Scratch, out: &mut Vec<u8>) {
    let (a, x, n) = (s.first, s.first + 1, s.first + 2);
    put(
        out,
        &[
            Instruction::LocalSet(n),
            Instruction::LocalSet(x),
            Instruction::LocalSet(a),
        ],
    );
}

/// Pushes local `at` moved by `place`'s base.
pub(crate) fn rebased(at: u32, place: &Place, out: &mut Vec<u8>) {
    put(out, &[Instruction::LocalGet(at)]);
    if place.base != 0 {
        put(
            out,
            &[
                Instruction::I32Const(place.base as u32 as i32),
                Instruction::I32Add,
            ],
        );
    }
}

fn unsupported<E>(what: &str) -> Fault<E> {
    Fault::Merge(format!("{what} cannot be kept once memories are merged"))
}

/// Writes what stands for memory operator `op` (input numbering) in the
/// merged memory; `remap` numbers its memories and data segments as the
/// output does before merging.
pub(crate) fn write<R: Reencode>(
    mut op: Operator<'_>,
    remap: &mut R,
    merged: &MergedMemories<'_>,
    scratch: &Scratch,
    out: &mut Vec<u8>,
) -> Result<(), Fault<R::Error>> {
    let place = |remap: &mut R, mem: u32| -> Result<Place, Fault<R::Error>> {
        let m = remap.memory_index(mem)?;
        merged.places.get(m as usize).copied().ok_or(Fault::NoPlace(mem))
    };
    if let Some((memarg, above)) = access(&mut op) {
        let MemArgTarget::Memory(mem) = memarg.target else {
            // An access to a GC array's payload: no linear memory.
            remap.instruction(op)?.encode(out);
            return Ok(());
        };
        let p = place(remap, mem)?;
        let size = 1u64 << memarg.max_align;
        let offset = memarg.offset.saturating_add(p.base);
        let check = match p.bound {
            Bound::Last => None,
            Bound::Fixed { size: bytes, .. } => Some(bytes as i128 - memarg.offset as i128 - size as i128),
        };
        // Never in bounds: the access traps wherever its address is.
        if offset > u32::MAX as u64 || check.is_some_and(|c| c < 0) {
            out_of_bounds(out);
            return Ok(());
        }
        if let Some(max) = check.filter(|&c| c < u32::MAX as i128) {
            for (nth, ty) in above.iter().enumerate().rev() {
                let nth = above[..nth].iter().filter(|t| *t == ty).count() as u32;
                put(out, &[Instruction::LocalSet(scratch.value(*ty, nth))]);
            }
            let a = scratch.first;
            put(
                out,
                &[
                    Instruction::LocalTee(a),
                    Instruction::I32Const(max as u32 as i32),
                    Instruction::I32GtU,
                    Instruction::If(BlockType::Empty),
                ],
            );
            out_of_bounds(out);
            put(out, &[Instruction::End, Instruction::LocalGet(a)]);
            for (nth, ty) in above.iter().enumerate() {
                let nth = above[..nth].iter().filter(|t| *t == ty).count() as u32;
                put(out, &[Instruction::LocalGet(scratch.value(*ty, nth))]);
            }
        }
        memarg.target = MemArgTarget::Memory(0);
        memarg.offset = offset;
        let ins = RoundtripReencoder
            .instruction(op)
            .map_err(|e| Fault::Encode(e.to_string()))?;
        ins.encode(out);
        return Ok(());
    }
    let (d, x, n) = (scratch.first, scratch.first + 1, scratch.first + 2);
    match op {
        Operator::MemorySize { mem } => {
            let p = place(remap, mem)?;
            match p.bound {
                Bound::Fixed { size: bytes, .. } => put(out, &[Instruction::I32Const((bytes / PAGE) as i32)]),
                Bound::Last => put(
                    out,
                    &[
                        Instruction::MemorySize(0),
                        Instruction::I32Const((p.base / PAGE) as i32),
                        Instruction::I32Sub,
                    ],
                ),
            }
        }
        Operator::MemoryGrow { mem } => {
            let p = place(remap, mem)?;
            match p.bound {
                Bound::Fixed { growable: true, .. } => {
                    return Err(unsupported(&format!(
                        "memory.grow of memory {mem}, which may grow but is not the last memory,"
                    )))
                }
                // At its maximum already: growing by 0 gives its size,
                // anything else fails.
                Bound::Fixed { size: bytes, .. } => put(
                    out,
                    &[
                        Instruction::If(BlockType::Result(wasm_encoder::ValType::I32)),
                        Instruction::I32Const(-1),
                        Instruction::Else,
                        Instruction::I32Const((bytes / PAGE) as i32),
                        Instruction::End,
                    ],
                ),
                Bound::Last => put(
                    out,
                    &[
                        Instruction::MemoryGrow(0),
                        Instruction::LocalTee(d),
                        Instruction::I32Const(-1),
                        Instruction::I32Eq,
                        Instruction::If(BlockType::Result(wasm_encoder::ValType::I32)),
                        Instruction::I32Const(-1),
                        Instruction::Else,
                        Instruction::LocalGet(d),
                        Instruction::I32Const((p.base / PAGE) as i32),
                        Instruction::I32Sub,
                        Instruction::End,
                    ],
                ),
            }
        }
        Operator::MemoryFill { mem } | Operator::MemoryInit { mem, .. } => {
            let p = place(remap, mem)?;
            park3(scratch, out);
            check_range(d, n, &p, out);
            rebased(d, &p, out);
            put(out, &[Instruction::LocalGet(x), Instruction::LocalGet(n)]);
            match op {
                Operator::MemoryInit { data_index, .. } => put(
                    out,
                    &[Instruction::MemoryInit {
                        mem: 0,
                        data_index: remap.data_index(data_index)?,
                    }],
                ),
                _ => put(out, &[Instruction::MemoryFill(0)]),
            }
        }
        Operator::MemoryCopy { dst_mem, src_mem } => {
            let (pd, ps) = (place(remap, dst_mem)?, place(remap, src_mem)?);
            park3(scratch, out);
            check_range(d, n, &pd, out);
            check_range(x, n, &ps, out);
            rebased(d, &pd, out);
            rebased(x, &ps, out);
            put(
                out,
                &[
                    Instruction::LocalGet(n),
                    Instruction::MemoryCopy {
                        src_mem: 0,
                        dst_mem: 0,
                    },
                ],
            );
        }
        Operator::MemoryDiscard { .. } => return Err(unsupported("memory.discard")),
        _ => return Err(unsupported("a memory operator of a proposal weld does not merge")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Enough of a module for `operator_arity` on memory operators.
    struct NoTypes;

    impl wasmparser::ModuleArity for NoTypes {
        fn sub_type_at(&self, _: u32) -> Option<&wasmparser::SubType> {
            None
        }
        fn tag_type_arity(&self, _: u32) -> Option<(u32, u32)> {
            None
        }
        fn type_index_of_function(&self, _: u32) -> Option<u32> {
            None
        }
        fn func_type_of_cont_type(&self, _: &wasmparser::ContType) -> Option<&wasmparser::FuncType> {
            None
        }
        fn sub_type_of_ref_type(&self, _: &wasmparser::RefType) -> Option<&wasmparser::SubType> {
            None
        }
        fn control_stack_height(&self) -> u32 {
            1
        }
        fn label_block(&self, _: u32) -> Option<(wasmparser::BlockType, wasmparser::FrameKind)> {
            None
        }
    }

    /// Each access's operands above the address are as many as wasmparser's
    /// arity says, for a body with one of every kind of access.
    #[test]
    fn operands_above_the_address_match_the_arity() {
        let ops = [
            "i32.load",
            "i64.load8_s",
            "f32.load",
            "f64.load",
            "v128.load16x4_u",
            "v128.load8_splat",
            "v128.load64_zero",
            "i64.atomic.load16_u",
            "i32.store",
            "i64.store32",
            "f32.store",
            "f64.store",
            "v128.store",
            "i32.atomic.store16",
            "i64.atomic.store8",
            "i32.atomic.rmw8.sub_u",
            "i64.atomic.rmw.or",
            "i64.atomic.rmw16.xor_u",
            "i32.atomic.rmw16.cmpxchg_u",
            "i64.atomic.rmw.cmpxchg",
            "memory.atomic.notify",
            "memory.atomic.wait32",
            "memory.atomic.wait64",
            "v128.load32_lane 1",
            "v128.store16_lane 2",
        ];
        let body: String = ops
            .iter()
            .map(|o| match o.split_once(' ') {
                Some((op, lane)) => format!("{op} offset=3 {lane}\n"),
                None => format!("{o} offset=3\n"),
            })
            .collect();
        // Not valid (no operands), only decodable: arity needs no stack.
        let bytes = wat::parse_str(format!("(module (memory 1) (func {body}))")).unwrap();
        let s = crate::survey("t", &bytes).unwrap();
        let body = &s.as_module().unwrap().bodies[0];
        let mut reader = body.get_operators_reader().unwrap();
        let mut seen = 0;
        while !reader.eof() {
            let mut op = reader.read().unwrap();
            let arity = op.operator_arity(&NoTypes);
            if let Some((_, above)) = access(&mut op) {
                assert_eq!(Some(above.len() as u32 + 1), arity.map(|a| a.0), "{op:?}");
                seen += 1;
            }
        }
        assert_eq!(seen, ops.len());
    }

    /// Scratch locals come after the body's own, only of the kinds needed.
    #[test]
    fn scratch_locals_are_declared_as_needed() {
        let needs = Needs {
            i32: true,
            f64: true,
            ..Needs::default()
        };
        let (s, decls) = Scratch::declare(needs, 5);
        assert_eq!(decls, vec![(3, ValType::I32), (1, ValType::F64)]);
        assert_eq!(
            (s.first, s.value(ValType::I32, 1), s.value(ValType::F64, 0)),
            (5, 7, 8)
        );
        let (_, none) = Scratch::declare(Needs::default(), 5);
        assert!(none.is_empty());
    }
}

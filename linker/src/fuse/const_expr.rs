//! Constant expressions of the fused module.
//!
//! Every index in an input's constant expression is remapped, with one
//! rewrite: `global.get` of a global that the input imported from another
//! input (never one it defines itself) reads, after fusing, a global *defined* in the same module, which
//! only GC-enabled engines accept in a constant expression. Such a global is
//! immutable (a constant expression can only read immutable globals), so its
//! value is its own initialiser: weld splices the provider's initialiser in
//! its place, recursively (providers come earlier in instantiation order, so
//! the recursion ends). The result is valid without GC.

use wasm_encoder::reencode::Reencode;
use wasm_encoder::{ConstExpr, Encode, Instruction};
use wasmparser::{ElementItems, ElementKind, Operator, TableInit};
use weld_format::survey::ModuleSurvey;
use weld_format::Space;

use crate::error::fuse::reencode_reason;
use crate::error::FuseError;
use crate::fuse::context::FuseCx;
use crate::fuse::plan::Plan;

/// The function of a constant expression that is one `ref.func` (the form
/// of most element segment items), without decoding anything else.
pub fn lone_ref_func(expr: &wasmparser::ConstExpr<'_>) -> Option<u32> {
    let mut ops = expr.get_operators_reader();
    match (ops.read(), ops.read()) {
        (Ok(Operator::RefFunc { function_index }), Ok(Operator::End)) if ops.eof() => Some(function_index),
        _ => None,
    }
}

/// Where an input names a function outside its code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    /// An active element segment of this table.
    Active(u32),
    /// A passive element segment.
    Passive,
    /// A declarative element segment.
    Declared,
    /// A constant expression: a global's or a table's initialiser.
    Init,
}

/// Every function an input names outside its code, with what holds it: the
/// items of its element segments and `ref.func` in its globals' and
/// tables' initialisers.
pub fn refs_outside_code(m: &ModuleSurvey<'_>, each: &mut dyn FnMut(Holder, u32)) -> wasmparser::Result<()> {
    let scan = |e: &wasmparser::ConstExpr<'_>, holder: Holder, each: &mut dyn FnMut(Holder, u32)| {
        for op in e.get_operators_reader() {
            if let Operator::RefFunc { function_index } = op? {
                each(holder, function_index);
            }
        }
        wasmparser::Result::Ok(())
    };
    for seg in &m.elements {
        let holder = match &seg.kind {
            ElementKind::Active { table_index, .. } => Holder::Active(table_index.unwrap_or(0)),
            ElementKind::Passive => Holder::Passive,
            ElementKind::Declared => Holder::Declared,
        };
        match &seg.items {
            ElementItems::Functions(r) => {
                for f in r.clone() {
                    each(holder, f?);
                }
            }
            ElementItems::Expressions(_, r) => {
                for e in r.clone() {
                    scan(&e?, holder, each)?;
                }
            }
        }
    }
    for g in &m.globals {
        scan(&g.init_expr, Holder::Init, each)?;
    }
    for t in &m.tables {
        if let TableInit::Expr(e) = &t.init {
            scan(e, Holder::Init, each)?;
        }
    }
    Ok(())
}

/// Remaps the constant expression `expr` of input `k`.
pub fn const_expr(
    cx: &FuseCx<'_, '_>,
    plan: &Plan<'_>,
    k: usize,
    expr: &wasmparser::ConstExpr<'_>,
) -> Result<ConstExpr, FuseError> {
    // The common one-operator forms, without the general path's buffers.
    let at = || expr.get_binary_reader().original_position();
    let bad = |e| FuseError::malformed(cx.files[k], "constant expression", at(), reencode_reason(e));
    let mut ops = expr.get_operators_reader();
    match (ops.read(), ops.read()) {
        (Ok(Operator::I32Const { value }), Ok(Operator::End)) if ops.eof() => {
            return Ok(ConstExpr::i32_const(value))
        }
        (Ok(Operator::I64Const { value }), Ok(Operator::End)) if ops.eof() => {
            return Ok(ConstExpr::i64_const(value))
        }
        (Ok(Operator::RefFunc { function_index }), Ok(Operator::End)) if ops.eof() => {
            let f = plan.maps[k].remap().function_index(function_index).map_err(bad)?;
            return Ok(ConstExpr::ref_func(f));
        }
        (Ok(Operator::RefNull { hty }), Ok(Operator::End)) if ops.eof() => {
            let ht = plan.maps[k].remap().heap_type(hty).map_err(bad)?;
            return Ok(ConstExpr::ref_null(ht));
        }
        _ => {}
    }
    let mut bytes = Vec::new();
    splice(cx, plan, k, expr, &mut bytes, 0)?;
    Ok(ConstExpr::raw(fold(bytes)))
}

/// Folds integer arithmetic on constants into one constant: a shared
/// library's `global.get __memory_base; i32.const 16; i32.add`, once `weld
/// link` has made the base a constant, becomes `i32.const <address>`. Any
/// other expression is returned as it is.
fn fold(bytes: Vec<u8>) -> Vec<u8> {
    #[derive(Clone, Copy)]
    enum V {
        I32(i32),
        I64(i64),
    }
    let mut end = bytes.clone();
    end.push(0x0b);
    let mut reader = wasmparser::OperatorsReader::new(wasmparser::BinaryReader::new(&end, 0));
    let mut stack: Vec<V> = Vec::new();
    let mut ops = 0;
    while !reader.eof() {
        let Ok(op) = reader.read() else { return bytes };
        ops += 1;
        let v = match op {
            Operator::End => break,
            Operator::I32Const { value } => V::I32(value),
            Operator::I64Const { value } => V::I64(value),
            Operator::I32Add | Operator::I32Sub | Operator::I32Mul => match (stack.pop(), stack.pop()) {
                (Some(V::I32(b)), Some(V::I32(a))) => V::I32(match op {
                    Operator::I32Add => a.wrapping_add(b),
                    Operator::I32Sub => a.wrapping_sub(b),
                    _ => a.wrapping_mul(b),
                }),
                _ => return bytes,
            },
            Operator::I64Add | Operator::I64Sub | Operator::I64Mul => match (stack.pop(), stack.pop()) {
                (Some(V::I64(b)), Some(V::I64(a))) => V::I64(match op {
                    Operator::I64Add => a.wrapping_add(b),
                    Operator::I64Sub => a.wrapping_sub(b),
                    _ => a.wrapping_mul(b),
                }),
                _ => return bytes,
            },
            _ => return bytes,
        };
        stack.push(v);
    }
    match (stack.as_slice(), ops) {
        (_, 0..=2) => bytes,
        ([V::I32(v)], _) => {
            let mut out = Vec::new();
            Instruction::I32Const(*v).encode(&mut out);
            out
        }
        ([V::I64(v)], _) => {
            let mut out = Vec::new();
            Instruction::I64Const(*v).encode(&mut out);
            out
        }
        _ => bytes,
    }
}

fn splice(
    cx: &FuseCx<'_, '_>,
    plan: &Plan<'_>,
    k: usize,
    expr: &wasmparser::ConstExpr<'_>,
    out: &mut Vec<u8>,
    depth: usize,
) -> Result<(), FuseError> {
    let at = || expr.get_binary_reader().original_position();
    let bad = |reason: String| FuseError::malformed(cx.files[k], "constant expression", at(), reason);
    if depth > plan.globals.len() {
        return Err(bad("global initialisers refer to each other in a loop".into()));
    }
    let imported = plan.n_imports[Space::Global];
    let mut remap = plan.maps[k].remap();
    let mut ops = expr.get_operators_reader();
    while !ops.eof() {
        let op = ops.read().map_err(|e| bad(e.message().to_string()))?;
        match op {
            Operator::End => {}
            Operator::GlobalGet { global_index } => {
                let g = remap
                    .global_index(global_index)
                    .map_err(|e| bad(reencode_reason(e)))?;
                // Only a global the input *imported* (now defined by the
                // provider) is spliced; one the input defines itself stays
                // a `global.get`, valid or not exactly as in the input (a
                // forward reference stays one).
                let own = global_index >= cx.modules[k].imported.globals;
                if g < imported || own {
                    Instruction::GlobalGet(g).encode(out);
                } else {
                    let (p, d) = plan.globals[(g - imported) as usize];
                    let init = &cx.modules[p.as_usize()].globals[d as usize].init_expr;
                    splice(cx, plan, p.as_usize(), init, out, depth + 1)?;
                }
            }
            other => remap
                .instruction(other)
                .map_err(|e| bad(reencode_reason(e)))?
                .encode(out),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use wasmparser::{AbstractHeapType, HeapType, Operator, Payload, UnpackedIndex};
    use weld_format::Inputs;

    use crate::{fuse, FuseOptions};

    /// The heap type of the `ref.null` that starts every table's and
    /// global's initialiser, and every element item, in the output (in
    /// section order); `None` where another operator starts it.
    fn nulls(bytes: &[u8]) -> Vec<Option<HeapType>> {
        let first = |e: &wasmparser::ConstExpr<'_>| match e.get_operators_reader().read().unwrap() {
            Operator::RefNull { hty } => Some(hty),
            _ => None,
        };
        let mut out = Vec::new();
        for payload in wasmparser::Parser::new(0).parse_all(bytes) {
            match payload.unwrap() {
                Payload::GlobalSection(s) => out.extend(s.into_iter().map(|g| first(&g.unwrap().init_expr))),
                Payload::TableSection(s) => {
                    for t in s {
                        if let wasmparser::TableInit::Expr(e) = t.unwrap().init {
                            out.push(first(&e));
                        }
                    }
                }
                Payload::ElementSection(s) => {
                    for seg in s {
                        if let wasmparser::ElementItems::Expressions(_, items) = seg.unwrap().items {
                            out.extend(items.into_iter().map(|e| first(&e.unwrap())));
                        }
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// `ref.null` of an abstract heap type is copied; of a concrete one, its
    /// type index is remapped like any other (here `b`'s struct type moves
    /// past `a`'s two types, and an identical one in `a` is shared).
    #[test]
    fn null_references_keep_their_heap_type_in_the_output_numbering() {
        let a = r#"(module
            (type $pair (struct (field i32) (field i32)))
            (type $one (struct (field i64)))
            (global (export "pa") (ref null $pair) (ref.null $pair))
            (global (export "fa") funcref (ref.null func)))"#;
        let b = r#"(module
            (type $one (struct (field i64)))
            (type $solo (struct (field f32)))
            (global (export "sb") (ref null $solo) (ref.null $solo))
            (global (export "ob") (ref null $one) (ref.null $one))
            (table (export "tb") 2 (ref null $solo) (ref.null $solo))
            (elem (ref null $solo) (ref.null $solo)))"#;
        let inputs =
            Inputs::from_memory([("a", a.as_bytes().to_vec()), ("b", b.as_bytes().to_vec())]).unwrap();
        let out = fuse(&FuseOptions::default(), &inputs).unwrap();
        let types = wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
            .validate_all(&out.bytes)
            .unwrap();
        // The output's types: a's two, then b's struct of f32 ($one is shared).
        assert_eq!(types.as_ref().core_type_count_in_module(), 3);
        let ty = |i| Some(HeapType::Concrete(UnpackedIndex::Module(i)));
        let (pair, one, solo) = (ty(0), ty(1), ty(2));
        let func = Some(HeapType::Abstract {
            shared: false,
            ty: AbstractHeapType::Func,
        });
        // b's table, the globals (a's, then b's), b's element item.
        assert_eq!(nulls(&out.bytes), [solo, pair, func, solo, one, solo]);
    }
}

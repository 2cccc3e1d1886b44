//! Constant expressions of the fused module.
//!
//! Every index in an input's constant expression is remapped, with one
//! rewrite: `global.get` of a global that the input imported from another
//! input reads, after fusing, a global *defined* in the same module, which
//! only GC-enabled engines accept in a constant expression. Such a global is
//! immutable (a constant expression can only read immutable globals), so its
//! value is its own initialiser: weld splices the provider's initialiser in
//! its place, recursively (providers come earlier in instantiation order, so
//! the recursion ends). The result is valid without GC.

use wasm_encoder::reencode::Reencode;
use wasm_encoder::{ConstExpr, Encode, Instruction};
use wasmparser::Operator;
use weld_format::Space;

use crate::error::FuseError;
use crate::fuse::plan::{reencode_reason, Plan};
use crate::fuse::FuseCx;

/// Remaps the constant expression `expr` of input `k`.
pub fn const_expr(
    cx: &FuseCx<'_, '_>,
    plan: &Plan<'_>,
    k: usize,
    expr: &wasmparser::ConstExpr<'_>,
) -> Result<ConstExpr, FuseError> {
    let mut bytes = Vec::new();
    splice(cx, plan, k, expr, &mut bytes, 0)?;
    Ok(ConstExpr::raw(bytes))
}

fn splice(
    cx: &FuseCx<'_, '_>,
    plan: &Plan<'_>,
    k: usize,
    expr: &wasmparser::ConstExpr<'_>,
    out: &mut Vec<u8>,
    depth: usize,
) -> Result<(), FuseError> {
    let bad = |reason: String| FuseError::malformed(cx.files[k], "constant expression", reason);
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
                if g < imported {
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

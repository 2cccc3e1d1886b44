//! Identical code folding across the fused inputs (mold-style).
//!
//! **Problem.** Statically linked programs carry many identical functions: the
//! same allocator or libc helpers in several inputs, monomorphised generics.
//! Two functions can be folded into one when they behave identically, which
//! is the case when their bodies are the same *and* the functions they call
//! are, in turn, foldable into one another.
//!
//! **Example.** `A` calls `C`, `C` calls `A`; `B` calls `D`, `D` calls `B`;
//! `A`/`B` have the same body modulo the callee, and so do `C`/`D`. Comparing
//! callees by index never folds them (`C != D`); comparing them by *class*
//! does: {A, B} and {C, D}.
//!
//! **Approach.** Every defined function is normalised: its body rewritten with
//! the fused module's indices for every space except functions, whose
//! references (`call`, `return_call`, `ref.func`) are replaced by a placeholder
//! and listed apart. Round 0 puts functions with the same type and the same
//! normalised bytes in one class (blake3 digests, confirmed byte for byte).
//! Each further round splits classes by the classes of their callees, in
//! order. A round never merges classes, so the class count only grows; when a
//! round leaves it unchanged the partition is stable, and every two members of
//! a class have equal bodies calling equal-class callees: they are
//! interchangeable. This terminates after at most as many rounds as there are
//! functions; in practice a handful. Each round is linear in the number of
//! calls.
//!
//! **Folding.** In every class one function is kept; each other member that
//! may be folded is replaced by it everywhere (calls, `ref.func`, elements,
//! exports, start) and not emitted. With `Icf::Safe` a function whose identity
//! is observable (exported, or its address taken: in an element segment or a
//! constant expression, which is also where every `ref.func` target must be
//! declared) is never folded away, though others may fold into it.

use std::collections::HashMap;

use rayon::prelude::*;
use wasm_encoder::reencode::{Error as ReencodeError, Reencode};
use wasmparser::{ElementItems, ExternalKind, Operator};
use weld_format::rewrite::{rewrite_body, OutOfRange, Remap};
use weld_format::survey::ModuleSurvey;
use weld_format::{FuncIdx, InputId};

use super::SpaceMaps;
use crate::error::FuseError;

/// How much identical code folding to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Icf {
    /// None.
    None,
    /// Fold functions whose identity is not observable (the default).
    #[default]
    Safe,
    /// Fold every identical function, exported and address-taken ones too.
    All,
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

/// A remap that reports function references instead of rewriting them.
struct Normalize<'m> {
    inner: Remap<'m>,
    callees: Vec<u32>,
}

impl Reencode for Normalize<'_> {
    type Error = OutOfRange;

    fn function_index(&mut self, f: u32) -> Result<u32, ReencodeError<OutOfRange>> {
        let out = self.inner.function_index(f)?;
        self.callees.push(out);
        Ok(0)
    }
    fn type_index(&mut self, t: u32) -> Result<u32, ReencodeError<OutOfRange>> {
        self.inner.type_index(t)
    }
    fn table_index(&mut self, t: u32) -> Result<u32, ReencodeError<OutOfRange>> {
        self.inner.table_index(t)
    }
    fn memory_index(&mut self, m: u32) -> Result<u32, ReencodeError<OutOfRange>> {
        self.inner.memory_index(m)
    }
    fn global_index(&mut self, g: u32) -> Result<u32, ReencodeError<OutOfRange>> {
        self.inner.global_index(g)
    }
    fn tag_index(&mut self, t: u32) -> Result<u32, ReencodeError<OutOfRange>> {
        self.inner.tag_index(t)
    }
    fn element_index(&mut self, e: u32) -> Result<u32, ReencodeError<OutOfRange>> {
        self.inner.element_index(e)
    }
    fn data_index(&mut self, d: u32) -> Result<u32, ReencodeError<OutOfRange>> {
        self.inner.data_index(d)
    }
}

/// A normalised function: the digest of its type and normalised body, and
/// its callees (output indices).
struct Normal {
    callees: Vec<u32>,
    digest: [u8; 32],
}

/// Functions of input `k` whose identity is observable: exported, in an
/// element segment, or named by `ref.func` in a constant expression.
fn observable(m: &ModuleSurvey<'_>, out: &mut Vec<u32>) -> wasmparser::Result<()> {
    let scan = |e: &wasmparser::ConstExpr<'_>, out: &mut Vec<u32>| -> wasmparser::Result<()> {
        for op in e.get_operators_reader() {
            if let Operator::RefFunc { function_index } = op? {
                out.push(function_index);
            }
        }
        Ok(())
    };
    for e in &m.exports {
        if matches!(e.kind, ExternalKind::Func | ExternalKind::FuncExact) {
            out.push(e.index);
        }
    }
    for seg in &m.elements {
        match &seg.items {
            ElementItems::Functions(r) => {
                for f in r.clone() {
                    out.push(f?);
                }
            }
            ElementItems::Expressions(_, r) => {
                for e in r.clone() {
                    scan(&e?, out)?;
                }
            }
        }
    }
    for g in &m.globals {
        scan(&g.init_expr, out)?;
    }
    for t in &m.tables {
        if let wasmparser::TableInit::Expr(e) = &t.init {
            scan(e, out)?;
        }
    }
    Ok(())
}

/// Folds identical functions: updates `maps` and `funcs` in place and returns
/// every fold. `n_imports` is the number of imported functions of the output.
pub fn fold(
    icf: Icf,
    maps: &mut [SpaceMaps],
    funcs: &mut Vec<(InputId, u32)>,
    n_imports: u32,
    modules: &[&ModuleSurvey<'_>],
    files: &[&str],
) -> Result<Vec<Fold>, FuseError> {
    if icf == Icf::None || funcs.len() < 2 {
        return Ok(Vec::new());
    }
    // Normalise every defined function, in parallel; keep only its digest
    // and callees (the bytes are recomputed for the few that share a digest).
    let normalize = |&(k, d): &(InputId, u32)| -> Result<(Vec<u8>, Vec<u32>), FuseError> {
        let ki = k.as_usize();
        let m = modules[ki];
        let maps_k = &maps[ki];
        let mut norm = Normalize { inner: maps_k.remap(), callees: Vec::new() };
        let mut identity = norm.inner.identity();
        identity.funcs = false; // see every function reference
        let ty = m.func_types[(m.imported.funcs + d) as usize];
        let out_ty = maps_k.types.get(ty.as_usize()).map(|t| t.0).unwrap_or(u32::MAX);
        let mut bytes = out_ty.to_le_bytes().to_vec();
        rewrite_body(&mut norm, &identity, &m.bodies[d as usize], &mut bytes).map_err(|e| FuseError::Malformed {
            input: files[ki].to_string(),
            item: format!("func {}", m.imported.funcs + d),
            reason: e.to_string(),
        })?;
        Ok((bytes, norm.callees))
    };
    let normals: Vec<Normal> = funcs
        .par_iter()
        .map(|f| {
            let (bytes, callees) = normalize(f)?;
            Ok(Normal { callees, digest: weld_format::digest::blake3(&bytes) })
        })
        .collect::<Result<_, FuseError>>()?;

    // Round 0: same type and normalised bytes: equal digests, confirmed byte
    // for byte.
    let n = normals.len();
    let mut by_digest: HashMap<[u8; 32], Vec<usize>> = HashMap::with_capacity(n);
    for (i, f) in normals.iter().enumerate() {
        by_digest.entry(f.digest).or_default().push(i);
    }
    let mut class = vec![u32::MAX; n];
    let mut n_classes = 0u32;
    for i in 0..n {
        if class[i] != u32::MAX {
            continue;
        }
        let group = &by_digest[&normals[i].digest];
        if group.len() == 1 {
            class[i] = n_classes;
            n_classes += 1;
            continue;
        }
        let bytes: Vec<Vec<u8>> = group
            .par_iter()
            .map(|&j| normalize(&funcs[j]).map(|(b, _)| b))
            .collect::<Result<_, FuseError>>()?;
        for (x, &j) in group.iter().enumerate() {
            if class[j] != u32::MAX {
                continue;
            }
            class[j] = n_classes;
            for (y, &l) in group.iter().enumerate().skip(x + 1) {
                if class[l] == u32::MAX && bytes[y] == bytes[x] {
                    class[l] = n_classes;
                }
            }
            n_classes += 1;
        }
    }
    drop(by_digest);

    // Refine by the classes of the callees until stable.
    let callee_class = |class: &[u32], c: u32| -> u32 {
        if c < n_imports {
            c | 0x8000_0000 // an import is its own class
        } else {
            class[(c - n_imports) as usize]
        }
    };
    loop {
        let mut key_of: HashMap<(u32, Vec<u32>), u32> = HashMap::with_capacity(n_classes as usize);
        let mut next = vec![0u32; n];
        for i in 0..n {
            let callees: Vec<u32> = normals[i]
                .callees
                .iter()
                .map(|&c| callee_class(&class, c))
                .collect();
            let len = key_of.len() as u32;
            next[i] = *key_of.entry((class[i], callees)).or_insert(len);
        }
        let count = key_of.len() as u32;
        class = next;
        if count == n_classes {
            break;
        }
        n_classes = count;
    }
    drop(normals);

    // Which functions may be folded away.
    let mut may_fold = vec![true; n];
    if icf == Icf::Safe {
        let mut seen = Vec::new();
        for (ki, m) in modules.iter().enumerate() {
            seen.clear();
            observable(m, &mut seen).map_err(|e| FuseError::Malformed {
                input: files[ki].to_string(),
                item: "element or constant expression".into(),
                reason: e.message().to_string(),
            })?;
            for &f in &seen {
                if let Some(&out) = maps[ki].funcs.get(f as usize) {
                    if out.0 >= n_imports {
                        may_fold[(out.0 - n_imports) as usize] = false;
                    }
                }
            }
        }
    }

    // The kept member of each class: the first one that may not be folded,
    // else the first one.
    let mut keeper: HashMap<u32, usize> = HashMap::new();
    for i in 0..n {
        match keeper.get(&class[i]) {
            None => {
                keeper.insert(class[i], i);
            }
            Some(&k) if may_fold[k] && !may_fold[i] => {
                keeper.insert(class[i], i);
            }
            _ => {}
        }
    }
    // New indices: kept functions in order; folded ones take their keeper's.
    let mut new_index = vec![u32::MAX; n];
    let mut next = n_imports;
    let mut kept_funcs = Vec::with_capacity(n);
    for i in 0..n {
        let k = keeper[&class[i]];
        if k == i || !may_fold[i] {
            new_index[i] = next;
            next += 1;
            kept_funcs.push(funcs[i]);
        }
    }
    let mut folds = Vec::new();
    for i in 0..n {
        if new_index[i] == u32::MAX {
            let k = keeper[&class[i]];
            new_index[i] = new_index[k];
            let (input, d) = funcs[i];
            folds.push(Fold {
                input,
                func: FuncIdx(modules[input.as_usize()].imported.funcs + d),
                into: FuncIdx(new_index[k]),
            });
        }
    }
    if folds.is_empty() {
        return Ok(folds);
    }
    for m in maps.iter_mut() {
        for f in m.funcs.iter_mut() {
            if f.0 >= n_imports {
                *f = FuncIdx(new_index[(f.0 - n_imports) as usize]);
            }
        }
    }
    *funcs = kept_funcs;
    Ok(folds)
}

#[cfg(test)]
mod tests {
    use super::Icf;
    use crate::{fuse, FuseOptions, Fused};
    use weld_format::Inputs;

    fn run(icf: Icf, mods: &[(&str, &str)]) -> Fused {
        let inputs =
            Inputs::from_memory(mods.iter().map(|(n, w)| (n.to_string(), w.as_bytes().to_vec()))).unwrap();
        let opts = FuseOptions {
            icf,
            ..Default::default()
        };
        let fused = fuse(&opts, &inputs).unwrap();
        crate::fuse::validate(&fused.bytes).unwrap();
        fused
    }

    fn folded(f: &Fused) -> Vec<(String, u32, u32)> {
        f.map
            .folded
            .iter()
            .map(|x| (x.input.clone(), x.func, x.into))
            .collect()
    }

    const LEAF_A: &str = r#"(module
        (func $leaf (param i32) (result i32) local.get 0 i32.const 7 i32.mul)
        (func (export "a") (result i32) i32.const 1 call $leaf))"#;
    const LEAF_B: &str = r#"(module
        (func $leaf (param i32) (result i32) local.get 0 i32.const 7 i32.mul)
        (func (export "b") (result i32) i32.const 2 call $leaf))"#;

    #[test]
    fn identical_leaf_functions_fold_across_inputs() {
        let f = run(Icf::Safe, &[("a", LEAF_A), ("b", LEAF_B)]);
        // b's $leaf (func 0 of b) folds into a's (output func 0).
        assert_eq!(folded(&f), [("b".to_string(), 0, 0)]);
        assert_eq!(f.map.inputs[1].funcs, [0, 2]);
        let none = run(Icf::None, &[("a", LEAF_A), ("b", LEAF_B)]);
        assert!(folded(&none).is_empty());
        assert!(none.bytes.len() > f.bytes.len());
    }

    #[test]
    fn identical_mutually_recursive_pairs_fold() {
        // A -> C -> A beside B -> D -> B: same bodies modulo callees.
        let m = r#"(module
            (func $a (param i32) (result i32) local.get 0 i32.eqz if (result i32) i32.const 0 else local.get 0 i32.const 1 i32.sub call $c end)
            (func $c (param i32) (result i32) local.get 0 i32.const 2 i32.add call $a)
            (func $b (param i32) (result i32) local.get 0 i32.eqz if (result i32) i32.const 0 else local.get 0 i32.const 1 i32.sub call $d end)
            (func $d (param i32) (result i32) local.get 0 i32.const 2 i32.add call $b)
            (func (export "x") (result i32) i32.const 3 call $a i32.const 4 call $b i32.add))"#;
        let f = run(Icf::Safe, &[("m", m)]);
        assert_eq!(folded(&f), [("m".to_string(), 2, 0), ("m".to_string(), 3, 1)]);
    }

    #[test]
    fn functions_differing_in_a_callee_fold_only_if_the_callees_do() {
        let m = r#"(module
            (func $one (result i32) i32.const 1)
            (func $two (result i32) i32.const 2)
            (func $one_again (result i32) i32.const 1)
            (func $p (result i32) call $one)
            (func $q (result i32) call $two)
            (func $r (result i32) call $one_again)
            (func (export "x") (result i32) call $p call $q i32.add call $r i32.add))"#;
        let f = run(Icf::Safe, &[("m", m)]);
        // $one_again folds into $one, and so $r into $p; $q stays.
        assert_eq!(folded(&f), [("m".to_string(), 2, 0), ("m".to_string(), 5, 2)]);
    }

    #[test]
    fn safe_keeps_observable_functions_all_folds_them() {
        let m = r#"(module
            (table 2 funcref)
            (func $e1 (export "e1") (result i32) i32.const 5)
            (func $e2 (export "e2") (result i32) i32.const 5)
            (func $t1 (result i32) i32.const 6)
            (func $t2 (result i32) i32.const 6)
            (elem (i32.const 0) func $t1 $t2))"#;
        let safe = run(Icf::Safe, &[("m", m)]);
        assert!(folded(&safe).is_empty(), "{:?}", folded(&safe));
        let all = run(Icf::All, &[("m", m)]);
        assert_eq!(folded(&all), [("m".to_string(), 1, 0), ("m".to_string(), 3, 1)]);
    }

    #[test]
    fn unobservable_functions_fold_into_an_observable_twin() {
        let m = r#"(module
            (func $hidden (result i32) i32.const 9)
            (func $shown (export "shown") (result i32) i32.const 9)
            (func (export "use") (result i32) call $hidden))"#;
        let f = run(Icf::Safe, &[("m", m)]);
        // $hidden folds into the exported $shown (kept, as its identity shows).
        assert_eq!(folded(&f), [("m".to_string(), 0, 0)]);
    }
}

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
//! **Approach.** Every defined function is normalised: its body as rewritten
//! for the fused module (every index in the output's numbering), with its
//! function references (`call`, `return_call`, `ref.func`) left out and listed
//! apart. The rewriting is the one emit needs anyway, so folding costs no
//! extra decoding; the bodies of kept functions only get their function
//! indices patched afterwards. Round 0 puts functions with the same type and the same
//! normalised bytes in one class (64-bit FxHash digests, confirmed byte for
//! byte, so a collision costs a comparison and never a wrong fold).
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
use std::hash::Hasher;

use rayon::prelude::*;
use rustc_hash::{FxBuildHasher, FxHasher};
use weld_format::survey::ModuleSurvey;
use weld_format::{FuncIdx, Space};

use super::plan::{Fold, Plan};
use crate::error::FuseError;
use crate::fuse::code::{Body, Rewritten};
use crate::fuse::const_expr::Holder;
use crate::fuse::context::FuseCx;
use crate::fuse::reach::OutsideRefs;

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

/// Functions of an input whose identity is observable: exported, in an
/// element segment, or named by `ref.func` in a constant expression (its
/// [`OutsideRefs`] entry).
fn observable<'s>(m: &'s ModuleSurvey<'_>, outside: &'s [(Holder, u32)]) -> impl Iterator<Item = u32> + 's {
    let exported = m
        .exports
        .iter()
        .filter(|e| Space::of_kind(e.kind) == Space::Func)
        .map(|e| e.index);
    // Address taken: in an element segment, or named by `ref.func` in a
    // constant expression (of a global or a table).
    exported.chain(outside.iter().map(|&(_, f)| f))
}

/// The digest of a function's type and normalised body (not collision
/// resistant: equal digests are confirmed byte for byte).
fn digest(ty: u32, body: Body<'_>) -> u64 {
    let mut h = FxHasher::default();
    h.write_u32(ty);
    for run in body.runs() {
        h.write_u32(run.len() as u32);
        h.write(run);
    }
    h.finish()
}

/// Whether two normalised bodies are the same, byte for byte.
fn same(a: Body<'_>, b: Body<'_>) -> bool {
    a.refs.len() == b.refs.len() && a.runs().eq(b.runs())
}

/// Folds identical functions. `bodies` are the rewritten bodies (with their
/// function references listed) of `plan.funcs`, in order. Updates the plan's
/// maps and functions and records the folds, which bodies are kept, and the
/// renumbering that the kept bodies' function references need.
pub fn fold(
    cx: &FuseCx<'_, '_>,
    icf: Icf,
    plan: &mut Plan<'_>,
    bodies: &Rewritten,
    outside: &OutsideRefs,
) -> Result<(), FuseError> {
    let FuseCx { modules, .. } = *cx;
    let body = |i: usize| bodies.body(i);
    let n_imports = plan.n_imports[Space::Func];
    let funcs = &plan.funcs;
    if icf == Icf::None || funcs.len() < 2 {
        return Ok(());
    }
    let n = funcs.len();
    let types: Vec<u32> = funcs
        .iter()
        .map(|&(k, d)| plan.defined_func_type(modules[k.as_usize()], k, d))
        .collect();
    let (mut class, n_classes) = first_classes(bodies, &types);

    // Only members of classes with two or more functions can fold, and
    // refining only splits classes: a singleton's class never changes. So
    // the rounds look at those candidates alone (usually a small share).
    let mut size = vec![0u32; n_classes as usize];
    for &c in &class {
        size[c as usize] += 1;
    }
    let candidates: Vec<usize> = (0..n).filter(|&i| size[class[i] as usize] > 1).collect();
    if candidates.is_empty() {
        return Ok(());
    }
    let candidate_classes = size.iter().filter(|&&s| s > 1).count();
    drop(size);
    let callees: Vec<Vec<u32>> = candidates
        .par_iter()
        .map(|&i| body(i).refs.iter().map(|r| r.func).collect())
        .collect();
    let fresh = refine(
        &mut class,
        &candidates,
        callees,
        candidate_classes,
        n_classes,
        n_imports,
    );

    let may_fold = may_fold(cx, icf, plan, outside, n);
    let keeper = keepers(&class, &may_fold, fresh);
    fold_into_keepers(cx, plan, &class, &keeper, &may_fold);
    Ok(())
}

/// Round 0: functions with the same type and normalised bytes share a
/// class: equal digests (sorted together), confirmed byte for byte.
/// Returns each function's class, and the number of classes.
fn first_classes(bodies: &Rewritten, types: &[u32]) -> (Vec<u32>, u32) {
    let body = |i: usize| bodies.body(i);
    let n = types.len();
    let digests: Vec<u64> = (0..n)
        .into_par_iter()
        .with_min_len(256)
        .map(|i| digest(types[i], body(i)))
        .collect();
    let mut by_digest: Vec<(u64, u32)> = digests.iter().enumerate().map(|(i, &d)| (d, i as u32)).collect();
    drop(digests);
    by_digest.par_sort_unstable();
    let mut class = vec![u32::MAX; n];
    let mut n_classes = 0u32;
    for group in by_digest.chunk_by(|a, b| a.0 == b.0) {
        for (g, &(_, i)) in group.iter().enumerate() {
            let i = i as usize;
            if class[i] != u32::MAX {
                continue;
            }
            class[i] = n_classes;
            for &(_, j) in &group[g + 1..] {
                let j = j as usize;
                if class[j] == u32::MAX && types[j] == types[i] && same(body(i), body(j)) {
                    class[j] = n_classes;
                }
            }
            n_classes += 1;
        }
    }
    (class, n_classes)
}

/// Refines the candidates' classes by the classes of their callees
/// (`callees[c]`, of `candidates[c]`) until stable. New class ids are fresh
/// numbers, above every id in use; returns the next unused one.
fn refine(
    class: &mut [u32],
    candidates: &[usize],
    callees: Vec<Vec<u32>>,
    mut candidate_classes: usize,
    n_classes: u32,
    n_imports: u32,
) -> u32 {
    let callee_class = |class: &[u32], c: u32| -> u32 {
        if c < n_imports {
            c | 0x8000_0000 // an import is its own class
        } else {
            class[(c - n_imports) as usize]
        }
    };
    let mut fresh = n_classes;
    loop {
        let mut key_of: HashMap<(u32, Vec<u32>), u32, FxBuildHasher> =
            HashMap::with_capacity_and_hasher(candidate_classes, FxBuildHasher);
        let next: Vec<u32> = candidates
            .iter()
            .zip(&callees)
            .map(|(&i, calls)| {
                let key = (class[i], calls.iter().map(|&c| callee_class(class, c)).collect());
                let id = fresh + key_of.len() as u32;
                *key_of.entry(key).or_insert(id)
            })
            .collect();
        let count = key_of.len();
        for (&i, c) in candidates.iter().zip(next) {
            class[i] = c;
        }
        fresh += count as u32;
        if count == candidate_classes {
            break;
        }
        candidate_classes = count;
    }
    fresh
}

/// Which of the `n` defined functions may be folded away.
fn may_fold(cx: &FuseCx<'_, '_>, icf: Icf, plan: &Plan<'_>, outside: &OutsideRefs, n: usize) -> Vec<bool> {
    let n_imports = plan.n_imports[Space::Func];
    let mut may_fold = vec![true; n];
    if icf == Icf::Safe {
        for (ki, (m, refs)) in cx.modules.iter().zip(outside).enumerate() {
            for f in observable(m, refs) {
                if let Some(&out) = plan.maps[ki].funcs.get(f as usize) {
                    if out.0 >= n_imports {
                        may_fold[(out.0 - n_imports) as usize] = false;
                    }
                }
            }
        }
    }
    may_fold
}

/// The kept member of each class: the first one that may not be folded,
/// else the first one. (Class ids are below `fresh`: one slot each.)
fn keepers(class: &[u32], may_fold: &[bool], fresh: u32) -> Vec<usize> {
    let mut keeper = vec![usize::MAX; fresh as usize];
    for i in 0..class.len() {
        let c = class[i] as usize;
        match keeper[c] {
            usize::MAX => keeper[c] = i,
            k if may_fold[k] && !may_fold[i] => keeper[c] = i,
            _ => {}
        }
    }
    keeper
}

/// Replaces every function that is neither its class's keeper nor kept by
/// `may_fold` with its keeper: renumbers the plan's maps, drops it from
/// `plan.funcs`, and records the folds, the kept bodies and their
/// renumbering. Leaves the plan as it is when nothing folds.
fn fold_into_keepers(
    cx: &FuseCx<'_, '_>,
    plan: &mut Plan<'_>,
    class: &[u32],
    keeper: &[usize],
    may_fold: &[bool],
) {
    let n_imports = plan.n_imports[Space::Func];
    let n = class.len();
    // New indices: kept functions in order; folded ones take their keeper's.
    let mut new_index = vec![u32::MAX; n];
    let mut next = n_imports;
    let mut kept = vec![false; n];
    for i in 0..n {
        if keeper[class[i] as usize] == i || !may_fold[i] {
            new_index[i] = next;
            next += 1;
            kept[i] = true;
        }
    }
    let mut folds = Vec::new();
    for i in 0..n {
        if !kept[i] {
            let k = keeper[class[i] as usize];
            new_index[i] = new_index[k];
            let (input, d) = plan.funcs[i];
            folds.push(Fold {
                input,
                func: FuncIdx(cx.modules[input.as_usize()].imported.funcs + d),
                into: FuncIdx(new_index[k]),
            });
        }
    }
    if folds.is_empty() {
        return;
    }
    for m in plan.maps.iter_mut() {
        for f in m.funcs.iter_mut() {
            if f.0 >= n_imports {
                *f = FuncIdx(new_index[(f.0 - n_imports) as usize]);
            }
        }
    }
    let mut i = 0;
    plan.funcs.retain(|_| {
        i += 1;
        kept[i - 1]
    });
    plan.kept = Some(kept);
    plan.renumber = Some((0..n_imports).chain(new_index).map(FuncIdx).collect());
    plan.folds = folds;
}

#[cfg(test)]
mod tests {
    use super::Icf;
    use crate::{fuse, FuseOptions, Fused};
    use weld_format::Inputs;

    fn run(icf: Icf, mods: &[(&str, &str)]) -> Fused {
        let inputs =
            Inputs::from_memory(mods.iter().map(|(n, w)| (n.to_string(), w.as_bytes().to_vec()))).unwrap();
        // In planned order: the indices asserted are the inputs' own.
        let opts = FuseOptions {
            icf,
            keep_order: true,
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
        assert_eq!(f.map.inputs[1].funcs, [Some(0), Some(2)]);
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

//! Stage 5d, **reach and order**: after folding, the functions nothing can
//! call are dropped, and the rest are ordered so that the most used get the
//! shortest indices.
//!
//! **Reachable** is what a run of the fused module can ever execute or
//! observe: the exports that are kept, the start function (or every step of
//! the synthesized one), every function in an element segment or named by
//! `ref.func` in a constant expression (its address is taken: a table or a
//! global can hand it out), every kept import, and, transitively, every
//! function that a reachable body names (`call`, `return_call`,
//! `ref.func`). The bodies' function references were listed when they were
//! rewritten, so this costs no decoding: one walk over the references,
//! linear in their number. Everything else is unobservable (no export,
//! table, global or call leads to it), so removing it changes no
//! behaviour. wasm-merge does the same by default; `--keep-unused` turns it
//! off.
//!
//! **Order.** Function indices are LEB128s in every `call`, element and
//! export: 1 byte below 128, 2 below 16,384, 3 above. Imports keep their
//! places; the defined functions are sorted by how often they are named
//! (in reachable bodies, element segments and exports), most first, ties in
//! the planned order. `--keep-order` keeps the planned order. The link map
//! records where every function went.

use weld_format::{FuncIdx, Space};

use crate::error::FuseError;
use crate::fuse::code::{Chunk, CHUNK};
use crate::fuse::icf::address_taken;
use crate::fuse::plan::{Plan, Start, StartStep};
use crate::fuse::FuseCx;

/// Marks a function that was removed, in the plan's maps.
pub const REMOVED: u32 = u32::MAX;

/// What to do.
#[derive(Debug, Clone, Copy)]
pub struct ReachOptions {
    /// Keep functions that nothing reaches.
    pub keep_unused: bool,
    /// Keep the planned order.
    pub keep_order: bool,
}

/// Drops unreachable functions and orders the rest (see the module docs).
/// `chunks` hold every body rewritten before folding, with its function
/// references, in `plan.kept` order.
pub fn reach(
    cx: &FuseCx<'_, '_>,
    opts: ReachOptions,
    plan: &mut Plan<'_>,
    chunks: &[Chunk],
) -> Result<(), FuseError> {
    if opts.keep_unused && opts.keep_order {
        return Ok(());
    }
    let FuseCx { files, modules, .. } = *cx;
    let n_imp = plan.n_imports[Space::Func];
    let n_bodies: usize = chunks.iter().map(Chunk::len).sum();
    let m = plan.funcs.len();
    // Pre-fold index -> current index; current defined index -> body.
    let cur = |x: u32| -> u32 { plan.renumber.as_ref().map_or(x, |r| r[x as usize].0) };
    let mut body_of = Vec::with_capacity(m);
    for i in 0..n_bodies {
        if plan.kept.as_ref().is_none_or(|k| k[i]) {
            body_of.push(i as u32);
        }
    }
    if body_of.len() != m {
        return Err(FuseError::malformed(
            "output",
            "code section",
            "bodies and functions disagree",
        ));
    }
    let body = |i: u32| chunks[i as usize / CHUNK].body(i as usize % CHUNK);

    // Uses, and the roots: kept exports, the start, address-taken functions.
    let mut uses = vec![0u32; m];
    let mut reached = vec![opts.keep_unused; m];
    let mut stack: Vec<u32> = Vec::new();
    let root = |f: u32, uses: &mut [u32], reached: &mut [bool], stack: &mut Vec<u32>| {
        if f >= n_imp && f != REMOVED {
            let d = (f - n_imp) as usize;
            if let Some(u) = uses.get_mut(d) {
                *u += 1;
                if !reached[d] {
                    reached[d] = true;
                    stack.push(d as u32);
                }
            }
        }
    };
    for e in &plan.exports {
        if Space::of_kind(e.kind) == Space::Func {
            root(e.index, &mut uses, &mut reached, &mut stack);
        }
    }
    match &plan.start {
        Some(Start::Existing(f)) => root(f.0, &mut uses, &mut reached, &mut stack),
        Some(Start::Synthesized { steps, .. }) => {
            for s in steps {
                if let StartStep::Call(f) = s {
                    root(f.0, &mut uses, &mut reached, &mut stack);
                }
            }
        }
        None => {}
    }
    let mut taken = Vec::new();
    for (ki, mm) in modules.iter().enumerate() {
        taken.clear();
        address_taken(mm, &mut taken)
            .map_err(|e| FuseError::parse(files[ki], "element or constant expression", e))?;
        for &f in &taken {
            if let Some(out) = plan.maps[ki].funcs.get(f as usize) {
                root(out.0, &mut uses, &mut reached, &mut stack);
            }
        }
    }
    if opts.keep_unused {
        stack = (0..m as u32).collect();
    }
    // Every reachable body's references (each body once).
    let mut walked = vec![false; m];
    while let Some(d) = stack.pop() {
        if std::mem::replace(&mut walked[d as usize], true) {
            continue;
        }
        for r in body(body_of[d as usize]).refs {
            root(cur(r.func), &mut uses, &mut reached, &mut stack);
        }
    }

    // The new order, and current -> final indices.
    let mut order: Vec<u32> = (0..m as u32).filter(|&d| reached[d as usize]).collect();
    if !opts.keep_order {
        order.sort_by_key(|&d| (std::cmp::Reverse(uses[d as usize]), d));
    }
    let mut fin = vec![REMOVED; m];
    for (p, &d) in order.iter().enumerate() {
        fin[d as usize] = n_imp + p as u32;
    }
    let to_fin = |f: u32| -> u32 {
        if f < n_imp || f == REMOVED {
            f
        } else {
            fin.get((f - n_imp) as usize).copied().unwrap_or(REMOVED)
        }
    };

    // Apply it to every place that names a function.
    let removed = m - order.len();
    plan.funcs = order.iter().map(|&d| plan.funcs[d as usize]).collect();
    for maps in &mut plan.maps {
        for f in &mut maps.funcs {
            f.0 = to_fin(f.0);
        }
    }
    for e in &mut plan.exports {
        if Space::of_kind(e.kind) == Space::Func {
            e.index = to_fin(e.index);
        }
    }
    match &mut plan.start {
        Some(Start::Existing(f)) => f.0 = to_fin(f.0),
        Some(Start::Synthesized { func, steps, .. }) => {
            *func = FuncIdx(n_imp + order.len() as u32);
            for s in steps {
                if let StartStep::Call(f) = s {
                    f.0 = to_fin(f.0);
                }
            }
        }
        None => {}
    }
    plan.declare = plan
        .declare
        .iter()
        .map(|&f| to_fin(f))
        .filter(|&f| f != REMOVED)
        .collect();
    plan.declare.sort_unstable();
    for fold in &mut plan.folds {
        fold.into.0 = to_fin(fold.into.0);
    }
    let total = n_imp as usize + n_bodies;
    plan.renumber = Some((0..total as u32).map(|x| FuncIdx(to_fin(cur(x)))).collect());
    plan.body_order = Some(order.iter().map(|&d| body_of[d as usize]).collect());
    plan.removed = removed;
    Ok(())
}

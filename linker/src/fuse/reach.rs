//! Stage 5d, **reach and order**: after folding, the functions nothing can
//! call are dropped, and the rest are ordered so that the most used get the
//! shortest indices.
//!
//! **Runs** is what a run of the fused module can ever execute: the
//! exports that are kept, the start function (or every step of the
//! synthesized one), every function a constant expression or a passive
//! segment names (a global or a `table.init` can hand it out), and,
//! transitively, every function a running body names (`call`,
//! `return_call`, `ref.func`) or can call indirectly. A function in an
//! active segment of table T can run only if T is imported or exported, a
//! running body reads T (`table.get`, `table.copy` from T), or a running
//! `call_indirect`/`return_call_indirect` on T has the function's type or a
//! declared supertype of it: the call checks the signature before it runs
//! anything. The bodies' function references and table uses were listed
//! when they were rewritten (live code only), so this costs no decoding: one
//! walk, linear in the references (an indirect call scans its table's
//! member types once per new call type).
//!
//! A function that cannot run but that a table holds keeps its index and
//! slot with an `unreachable` body (nothing can tell: a call through the
//! slot with another signature traps before the body either way). One that
//! nothing references at all is removed. wasm-merge does the same by
//! default; `--keep-unused` turns it off.
//!
//! **Order.** Function indices are LEB128s in every `call`, element and
//! export: 1 byte below 128, 2 below 16,384, 3 above. Imports keep their
//! places; the defined functions are sorted by how often they are named
//! (in reachable bodies, element segments and exports), most first, ties in
//! the planned order. `--keep-order` keeps the planned order. The link map
//! records where every function went.

use rayon::prelude::*;
use weld_format::rewrite::TableUse;
use weld_format::{FuncIdx, Space, TypeIdx};

use crate::error::FuseError;
use crate::fuse::code::Rewritten;
use crate::fuse::const_expr::{refs_outside_code, Holder};
use crate::fuse::context::FuseCx;
use crate::fuse::plan::{Plan, Start, StartStep, EMPTY, REMOVED};

/// The walk's state, per current defined function and per output table.
struct Walk {
    n_imp: u32,
    /// How often each function is named (for the order).
    uses: Vec<u32>,
    /// Whether its body can run.
    reached: Vec<bool>,
    /// Whether a table holds it (it keeps its index and slot).
    referenced: Vec<bool>,
    /// Reached functions whose bodies are still to walk.
    stack: Vec<u32>,
    /// Tables whose functions anything may call.
    open: Vec<bool>,
    /// Per table, its functions from active segments, by type.
    members: Vec<Vec<(u32, Vec<u32>)>>,
    /// Per table, the types of the indirect calls through it seen so far.
    calls: Vec<Vec<u32>>,
}

impl Walk {
    /// A reference to output function `f` that can run it.
    fn name(&mut self, f: u32) {
        if f >= self.n_imp && f != REMOVED {
            let d = f - self.n_imp;
            if let Some(u) = self.uses.get_mut(d as usize) {
                *u += 1;
                self.reach(d);
            }
        }
    }

    fn reach(&mut self, d: u32) {
        if !std::mem::replace(&mut self.reached[d as usize], true) {
            self.stack.push(d);
        }
    }

    fn member(&mut self, table: u32, ty: u32, d: u32) {
        let Some(by_type) = self.members.get_mut(table as usize) else {
            return self.reach(d);
        };
        match by_type.iter_mut().find(|(t, _)| *t == ty) {
            Some((_, ds)) => ds.push(d),
            None => by_type.push((ty, vec![d])),
        }
        if self.open[table as usize] {
            self.reach(d);
        }
    }

    fn open_table(&mut self, table: u32) {
        let t = table as usize;
        if t >= self.open.len() || std::mem::replace(&mut self.open[t], true) {
            return;
        }
        for d in std::mem::take(&mut self.members[t])
            .into_iter()
            .flat_map(|(_, ds)| ds)
        {
            self.reach(d);
        }
    }

    /// An indirect call through `table` with type `ty`: it can run the
    /// table's functions whose type is `ty` or a declared subtype of it.
    fn call(&mut self, table: u32, ty: u32, types: &crate::fuse::types::TypePlan) {
        let t = table as usize;
        if t >= self.open.len() || self.open[t] || self.calls[t].contains(&ty) {
            return;
        }
        self.calls[t].push(ty);
        let hit: Vec<u32> = self.members[t]
            .iter()
            .filter(|(f, _)| *f == ty || types.is_subtype(TypeIdx(*f), TypeIdx(ty)))
            .flat_map(|(_, ds)| ds.iter().copied())
            .collect();
        for d in hit {
            self.reach(d);
        }
    }
}

/// What to do.
#[derive(Debug, Clone, Copy)]
pub struct ReachOptions {
    /// Keep functions that nothing reaches.
    pub keep_unused: bool,
    /// Keep the planned order.
    pub keep_order: bool,
}

/// Per input, the functions it names outside its code (input indices),
/// with what holds each one (an active segment of a table, a passive or
/// declarative segment, a constant expression).
pub type OutsideRefs = Vec<Vec<(Holder, u32)>>;

/// [`OutsideRefs`] of every input, read in parallel (a split program's
/// primary has tens of thousands of segment items). It reads the inputs
/// only, so it runs beside the plan; the first error in input order is
/// reported, as a serial read would.
pub fn outside_refs(cx: &FuseCx<'_, '_>) -> Result<OutsideRefs, FuseError> {
    cx.modules
        .par_iter()
        .zip(cx.files.par_iter())
        .map(|(mm, file)| {
            let mut refs = Vec::new();
            refs_outside_code(mm, &mut |holder, f| refs.push((holder, f)))
                .map_err(|e| FuseError::parse(file, "element or constant expression", e))?;
            Ok(refs)
        })
        .collect::<Vec<_>>()
        .into_iter()
        .collect()
}

/// Drops unreachable functions and orders the rest (see the module docs).
/// `chunks` hold every body rewritten before folding, with its function
/// references, in `plan.kept` order; `outside` is [`outside_refs`].
pub fn reach(
    cx: &FuseCx<'_, '_>,
    opts: ReachOptions,
    plan: &mut Plan<'_>,
    bodies: &Rewritten,
    outside: &OutsideRefs,
) -> Result<(), FuseError> {
    if opts.keep_unused && opts.keep_order {
        return Ok(());
    }
    let n_bodies = bodies.len();
    let m = plan.funcs.len();
    let body_of = body_of(plan, n_bodies)?;
    let mut w = Walk::new(plan, opts.keep_unused);
    w.roots(cx, plan, outside);
    if opts.keep_unused {
        w.stack = (0..m as u32).collect();
    }
    w.walk(plan, bodies, &body_of);
    let Walk {
        uses,
        reached,
        referenced,
        ..
    } = w;

    // The new order. A function only its table references, that no
    // indirect call can reach, keeps its index and slot with an
    // `unreachable` body.
    let keep = |d: u32| reached[d as usize] || referenced[d as usize];
    let mut order: Vec<u32> = (0..m as u32).filter(|&d| keep(d)).collect();
    if !opts.keep_order {
        order.par_sort_unstable_by_key(|&d| (std::cmp::Reverse(uses[d as usize]), d));
    }
    reorder(plan, n_bodies, &order, &reached, &body_of);
    Ok(())
}

/// Current defined index -> body: the bodies `plan.kept` keeps, one per
/// function of `plan.funcs`.
fn body_of(plan: &Plan<'_>, n_bodies: usize) -> Result<Vec<u32>, FuseError> {
    let m = plan.funcs.len();
    let mut body_of = Vec::with_capacity(m);
    for i in 0..n_bodies {
        if plan.kept.as_ref().is_none_or(|k| k[i]) {
            body_of.push(i as u32);
        }
    }
    if body_of.len() != m {
        return Err(FuseError::Inconsistent {
            what: "the kept bodies and functions disagree in number",
        });
    }
    Ok(body_of)
}

impl Walk {
    /// A walk over `plan`'s functions and tables that has reached nothing
    /// yet (or everything, with `keep_unused`).
    fn new(plan: &Plan<'_>, keep_unused: bool) -> Walk {
        let m = plan.funcs.len();
        let n_tables = plan.n_imports[Space::Table] as usize + plan.tables.len();
        Walk {
            n_imp: plan.n_imports[Space::Func],
            uses: vec![0; m],
            reached: vec![keep_unused; m],
            referenced: vec![false; m],
            stack: Vec::new(),
            open: vec![false; n_tables],
            members: vec![Vec::new(); n_tables],
            calls: vec![Vec::new(); n_tables],
        }
    }

    /// The roots: kept exports, the start, functions whose reference a
    /// constant expression or a passive segment hands out; functions in an
    /// active segment are only referenced, by their table. Imported and
    /// exported tables are opened.
    fn roots(&mut self, cx: &FuseCx<'_, '_>, plan: &Plan<'_>, outside: &OutsideRefs) {
        let n_imp = self.n_imp;
        let FuseCx { modules, .. } = *cx;
        let type_of = |d: u32| -> u32 {
            let (k, dd) = plan.funcs[d as usize];
            plan.defined_func_type(modules[k.as_usize()], k, dd)
        };
        for e in &plan.exports {
            if Space::of_kind(e.kind) == Space::Func {
                self.name(e.index);
            }
        }
        match &plan.start {
            Some(Start::Existing(f)) => self.name(f.0),
            Some(Start::Synthesized { steps, .. }) => {
                for s in steps {
                    if let StartStep::Call(f) = s {
                        self.name(f.0);
                    }
                }
            }
            None => {}
        }
        for (ki, refs) in outside.iter().enumerate() {
            let maps = &plan.maps[ki];
            for &(holder, f) in refs {
                // Declarative segments only declare.
                let table = match holder {
                    Holder::Active(t) => Some(t),
                    Holder::Passive | Holder::Init => None,
                    Holder::Declared => continue,
                };
                let Some(out) = maps.funcs.get(f as usize).map(|x| x.0) else {
                    continue;
                };
                match table.and_then(|t| maps.tables.get(t as usize)) {
                    Some(t) if out >= n_imp && out != REMOVED => {
                        let d = out - n_imp;
                        self.uses[d as usize] += 1;
                        self.referenced[d as usize] = true;
                        self.member(t.0, type_of(d), d);
                    }
                    Some(_) => {}
                    None => self.name(out),
                }
            }
        }
        // Imported and exported tables hand their functions to anyone.
        for t in 0..plan.n_imports[Space::Table] {
            self.open_table(t);
        }
        for e in &plan.exports {
            if Space::of_kind(e.kind) == Space::Table {
                self.open_table(e.index);
            }
        }
    }

    /// Every reachable body's references (each body once): calls, ref.func,
    /// and table uses (an indirect call reaches the table's functions of a
    /// subtype of its type; a read reaches them all).
    fn walk(&mut self, plan: &Plan<'_>, bodies: &Rewritten, body_of: &[u32]) {
        // Pre-fold index -> current index.
        let cur = |x: u32| -> u32 { plan.renumber.as_ref().map_or(x, |r| r[x as usize].0) };
        let mut walked = vec![false; plan.funcs.len()];
        while let Some(d) = self.stack.pop() {
            if std::mem::replace(&mut walked[d as usize], true) {
                continue;
            }
            let b = bodies.body(body_of[d as usize] as usize);
            for r in b.refs {
                self.name(cur(r.func));
            }
            for u in b.tables {
                match *u {
                    TableUse::Call { table, ty } => self.call(table, ty, &plan.types),
                    TableUse::Read { table } => self.open_table(table),
                }
            }
        }
    }
}

/// Gives the functions of `order` (current defined indices) their final
/// indices, in that order, and applies them to every place that names a
/// function; the others are removed. Records the bodies to emit (an
/// `unreachable` one for those not `reached`) and the renumbering of the
/// `n_bodies` bodies' function references.
fn reorder(plan: &mut Plan<'_>, n_bodies: usize, order: &[u32], reached: &[bool], body_of: &[u32]) {
    let n_imp = plan.n_imports[Space::Func];
    let m = plan.funcs.len();
    // Pre-fold index -> current index; current -> final index.
    let cur = |x: u32| -> u32 { plan.renumber.as_ref().map_or(x, |r| r[x as usize].0) };
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
    plan.emptied = order.iter().filter(|&&d| !reached[d as usize]).count();
    plan.body_order = Some(
        order
            .iter()
            .map(|&d| {
                if reached[d as usize] {
                    body_of[d as usize]
                } else {
                    EMPTY
                }
            })
            .collect(),
    );
    plan.removed = removed;
}

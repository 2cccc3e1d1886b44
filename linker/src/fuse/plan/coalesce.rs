//! Part of stage 5, **plan**: active element segments that fill adjacent
//! slots of one table are written as one segment.
//!
//! Split programs place each module's functions into a shared table one
//! slot at a time (canvaskit split16 brings 9,371 one-function segments).
//! Fused, those segments sit side by side; one segment per run of adjacent
//! slots is smaller, cheaper to write and validate, and faster to
//! instantiate.
//!
//! Why the result behaves the same: instantiation applies active segments
//! in order, and a segment that does not fit its table traps, after the
//! segments before it have been written (observable through an imported
//! table). Here every active segment that stays active (none deferred to
//! the start function) must have a constant offset and fit within the
//! minimum size its own input declares for the table. Those minimums hold
//! for the real table: a defined table has at least its minimum, and an
//! imported one was checked against its provider's limits. So no active
//! segment traps, and with no two of them writing the same slot, the
//! table's contents after instantiation are the same in every order.
//! Only then are segments reordered and runs merged; otherwise the
//! segments are left as they are. One writer is set aside: a segment of
//! nulls into a table its input defines with null slots, applied before
//! any other segment writes that table (wasm-split's primary module
//! starts its table of secondary functions so). It changes nothing, and
//! it keeps its place, before every run on that table.
//!
//! Element indices: after instantiation every active segment is dropped,
//! so any `table.init`, `elem.drop` or `array.*_elem` naming one sees an
//! empty segment. All members of a run therefore map to the run's output
//! index without changing what code that names them does. Passive,
//! declarative and deferred segments are never merged and keep their own
//! index. Cost: O(n log n) in the number of segments.

use wasmparser::{ElementItems, ElementKind, Operator, TypeRef};
use weld_format::survey::ModuleSurvey;

use super::{Segment, SpaceMaps};
use crate::fuse::const_expr::lone_ref_func;

/// The element segments in their new order, grouped into runs.
#[derive(Debug)]
pub struct Coalesced {
    /// Every input segment, each run's members together, in output order.
    pub parts: Vec<Segment>,
    /// Where each output segment's run starts in `parts`.
    pub starts: Vec<u32>,
    /// Output index of each segment before coalescing -> output index now.
    pub renumber: Vec<u32>,
}

/// An active segment's place: output table, first and past-the-end slot.
#[derive(Debug, Clone, Copy)]
struct Span {
    table: u32,
    start: u64,
    end: u64,
    /// Its output index before coalescing.
    pos: u32,
    /// Whether its items are functions only (writable in the function-index form).
    functions: bool,
}

/// Coalesces `elems` (one output segment per input segment, in output
/// order), or `None` when nothing merges or the conditions above fail.
pub fn coalesce(modules: &[&ModuleSurvey<'_>], maps: &[SpaceMaps], elems: &[Segment]) -> Option<Coalesced> {
    // Each input's tables' declared minimums, for the inputs with segments.
    let minimums: Vec<Vec<u64>> = modules
        .iter()
        .map(|m| match m.elements.is_empty() {
            true => Vec::new(),
            false => table_minimums(m),
        })
        .collect();
    let mut spans = Vec::new();
    // The output tables active segments have written so far.
    let mut written: rustc_hash::FxHashSet<u32> = Default::default();
    for (pos, seg) in elems.iter().enumerate() {
        if seg.deferred {
            continue;
        }
        let k = seg.input.as_usize();
        let m = modules[k];
        let e = m.elements.get(seg.index as usize)?;
        let ElementKind::Active {
            table_index,
            offset_expr,
        } = &e.kind
        else {
            continue;
        };
        let t = table_index.unwrap_or(0);
        let table = maps[k].tables.get(t as usize)?.0;
        let start = constant(offset_expr)?;
        let (len, functions, nulls) = match &e.items {
            ElementItems::Functions(r) => (r.count(), true, false),
            ElementItems::Expressions(ty, r) => {
                let mut items = r.clone().into_iter();
                let functions = *ty == wasmparser::RefType::FUNCREF
                    && items
                        .clone()
                        .all(|x| x.ok().and_then(|x| lone_ref_func(&x)).is_some());
                let nulls = !functions && items.all(|x| x.is_ok_and(|x| lone_ref_null(&x)));
                (r.count(), functions, nulls)
            }
        };
        let end = start.checked_add(u64::from(len))?;
        if end > *minimums[k].get(t as usize)? {
            return None;
        }
        // Nulls written into a table its own input defines with null
        // slots, before any other segment writes that table, change
        // nothing: such a segment stays where it is, and is no writer.
        let first = written.insert(table);
        if nulls && first && defines_null_table(m, t) {
            continue;
        }
        spans.push(Span {
            table,
            start,
            end,
            pos: pos as u32,
            functions,
        });
    }
    spans.sort_unstable_by_key(|s| (s.table, s.start, s.end, s.pos));
    if spans
        .windows(2)
        .any(|w| w[0].table == w[1].table && w[1].start < w[0].end)
    {
        return None;
    }

    // Runs: (the smallest output index among the members, members).
    let mut runs: Vec<(u32, Vec<u32>)> = Vec::new();
    let mut merged = false;
    let mut in_run = vec![false; elems.len()];
    let mut i = 0;
    while i < spans.len() {
        let mut j = i + 1;
        while j < spans.len()
            && spans[i].functions
            && spans[j].functions
            && spans[j].table == spans[i].table
            && spans[j].start == spans[j - 1].end
        {
            j += 1;
        }
        merged |= j - i > 1;
        let members: Vec<u32> = spans[i..j].iter().map(|s| s.pos).collect();
        for &p in &members {
            in_run[p as usize] = true;
        }
        runs.push((members.iter().copied().min().unwrap_or(0), members));
        i = j;
    }
    if !merged {
        return None;
    }
    // Every other segment is a run of its own, at its own place.
    runs.extend(
        (0..elems.len() as u32)
            .filter(|&p| !in_run[p as usize])
            .map(|p| (p, vec![p])),
    );
    runs.sort_unstable_by_key(|r| r.0);

    let mut out = Coalesced {
        parts: Vec::with_capacity(elems.len()),
        starts: Vec::with_capacity(runs.len()),
        renumber: vec![0; elems.len()],
    };
    for (n, (_, members)) in runs.iter().enumerate() {
        out.starts.push(out.parts.len() as u32);
        for &p in members {
            out.renumber[p as usize] = n as u32;
            out.parts.push(elems[p as usize]);
        }
    }
    Some(out)
}

/// The value of an offset that is one `i32.const` or `i64.const`.
pub(crate) fn constant(e: &wasmparser::ConstExpr<'_>) -> Option<u64> {
    let mut ops = e.get_operators_reader();
    let v = match ops.read().ok()? {
        Operator::I32Const { value } => u64::from(value as u32),
        Operator::I64Const { value } => value as u64,
        _ => return None,
    };
    match ops.read().ok()? {
        Operator::End if ops.eof() => Some(v),
        _ => None,
    }
}

/// Whether a constant expression is one `ref.null`.
fn lone_ref_null(e: &wasmparser::ConstExpr<'_>) -> bool {
    let mut ops = e.get_operators_reader();
    matches!(
        (ops.read(), ops.read()),
        (Ok(Operator::RefNull { .. }), Ok(Operator::End))
    ) && ops.eof()
}

/// Whether input `m` defines its table `t` with null slots.
fn defines_null_table(m: &ModuleSurvey<'_>, t: u32) -> bool {
    t.checked_sub(m.imported.tables)
        .and_then(|d| m.tables.get(d as usize))
        .is_some_and(|x| matches!(x.init, wasmparser::TableInit::RefNull))
}

/// The minimum size input `m` declares for each of its tables.
fn table_minimums(m: &ModuleSurvey<'_>) -> Vec<u64> {
    let imported = m.imports.iter().filter_map(|i| match i.ty {
        TypeRef::Table(t) => Some(t.initial),
        _ => None,
    });
    imported.chain(m.tables.iter().map(|t| t.ty.initial)).collect()
}

#[cfg(test)]
mod tests {
    use crate::fuse::plan::testing::fused_wat;

    /// The element segments of fusing `inputs` (WAT), as `mode items`;
    /// the output validates.
    fn fused_segments(inputs: &[(&str, &str)]) -> Vec<String> {
        let out = fused_wat(inputs);
        let mut segs = Vec::new();
        for p in wasmparser::Parser::new(0).parse_all(&out.bytes) {
            if let wasmparser::Payload::ElementSection(r) = p.unwrap() {
                for e in r {
                    let e = e.unwrap();
                    let mode = match e.kind {
                        wasmparser::ElementKind::Active { .. } => "active",
                        wasmparser::ElementKind::Passive => "passive",
                        wasmparser::ElementKind::Declared => "declared",
                    };
                    let n = match e.items {
                        wasmparser::ElementItems::Functions(r) => r.count(),
                        wasmparser::ElementItems::Expressions(_, r) => r.count(),
                    };
                    segs.push(format!("{mode} {n}"));
                }
            }
        }
        segs
    }

    const LIB: &str = r#"(module
        (table (export "t") 6 funcref)
        (func $f)
        (elem (i32.const 0) func $f $f))"#;

    /// An input writing `slots` (offset, count) of lib's table, importing it
    /// with minimum `min`.
    fn user(min: u32, slots: &[(u32, u32)]) -> String {
        let segs: String = slots
            .iter()
            .map(|(at, n)| format!("(elem (i32.const {at}) func {})", "$g ".repeat(*n as usize)))
            .collect();
        format!(r#"(module (import "lib" "t" (table {min} funcref)) (func $g) {segs})"#)
    }

    #[test]
    fn adjacent_slots_of_several_inputs_become_one_segment() {
        let a = user(6, &[(2, 1), (4, 1)]);
        let b = user(6, &[(3, 1), (5, 1)]);
        assert_eq!(
            fused_segments(&[("lib", LIB), ("a", &a), ("b", &b)]),
            ["active 6"]
        );
        // Runs that do not touch stay apart.
        let a = user(6, &[(3, 1)]);
        let b = user(6, &[(5, 1), (4, 1)]);
        assert_eq!(
            fused_segments(&[("lib", LIB), ("a", &a), ("b", &b)]),
            ["active 2", "active 3"]
        );
    }

    #[test]
    fn overlapping_segments_are_left_in_their_order() {
        let a = user(6, &[(1, 2), (3, 1)]);
        assert_eq!(
            fused_segments(&[("lib", LIB), ("a", &a)]),
            ["active 2", "active 2", "active 1"]
        );
    }

    #[test]
    fn a_segment_beyond_its_inputs_declared_minimum_keeps_the_order() {
        // The table has 6 slots, but `a` only knows of 3: slot 3 might trap,
        // after the segments before it were written.
        let a = user(3, &[(2, 1), (3, 1)]);
        assert_eq!(
            fused_segments(&[("lib", LIB), ("a", &a)]),
            ["active 2", "active 1", "active 1"]
        );
    }

    #[test]
    fn nulls_are_set_aside_only_in_a_fresh_defined_table() {
        let nulls = "(ref.null func) (ref.null func) (ref.null func) (ref.null func)";
        let lib = format!(r#"(module (table (export "t") 4 funcref) (elem (i32.const 0) funcref {nulls}))"#);
        let a = user(4, &[(0, 1), (1, 1)]);
        assert_eq!(
            fused_segments(&[("lib", &lib), ("a", &a)]),
            ["active 4", "active 2"]
        );
        // A host table may hold anything: the nulls overwrite, so they are
        // a writer like any other, and overlap.
        let host = format!(
            r#"(module (import "env" "t" (table 4 funcref)) (elem (i32.const 0) funcref {nulls})
                (func $g) (elem (i32.const 0) func $g) (elem (i32.const 1) func $g))"#
        );
        assert_eq!(
            fused_segments(&[("host", &host)]),
            ["active 4", "active 1", "active 1"]
        );
        // Written after another segment, they are a writer too.
        let lib = format!(
            r#"(module (table (export "t") 4 funcref) (func $f) (elem (i32.const 0) func $f)
                (elem (i32.const 0) funcref {nulls}))"#
        );
        let a = user(4, &[(0, 1), (1, 1)]);
        assert_eq!(
            fused_segments(&[("lib", &lib), ("a", &a)]),
            ["active 1", "active 4", "active 1", "active 1"]
        );
    }

    #[test]
    fn deferred_and_computed_segments_stay_apart() {
        // `a` has a start: `b`'s segments are initialised after it, from the
        // synthesized start, so they stay passive and separate.
        let a = r#"(module (table (export "t") 4 funcref) (func $s) (start $s)
            (elem (i32.const 0) func $s))"#;
        let b = user(4, &[(1, 1), (2, 1)]);
        assert_eq!(
            fused_segments(&[("a", a), ("b", &b)]),
            ["active 1", "passive 1", "passive 1"]
        );
        // An offset read from a global is not known here.
        let c = r#"(module (import "env" "base" (global i32)) (table 4 funcref) (func $g)
            (elem (global.get 0) func $g) (elem (i32.const 1) func $g))"#;
        assert_eq!(fused_segments(&[("c", c)]), ["active 1", "active 1"]);
    }
}

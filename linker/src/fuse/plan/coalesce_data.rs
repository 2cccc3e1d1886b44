//! Part of stage 5, **plan**: active data segments of one memory that are
//! adjacent, or apart by a few zero bytes, are written as one segment.
//!
//! Snapshotting tools write one segment per run of non-zero bytes (ruby's
//! WASI build has 10,000), and fused inputs bring one or two segments each
//! (a shared library's `.rodata` and `.data`). Every segment costs a header
//! in the file and a step when the engine instantiates the module, and the
//! validator takes at most 100,000.
//!
//! Why the result behaves the same: instantiation applies active segments
//! in order, and a segment that does not fit its memory traps after the
//! segments before it were written (observable through an imported
//! memory). Here every active segment that stays active (none deferred to
//! the start function) must have a constant offset (after `weld link` made
//! each library's `__memory_base` one) and end within the minimum size of
//! the output's memory: a defined memory has at least its minimum, an
//! imported one at least the minimum the output declares. Otherwise
//! nothing is coalesced. So no active segment traps, and the contents of a
//! memory after instantiation are the same in any order of its segments as
//! long as no two of them write the same byte; a memory where two do keeps
//! its segments apart, in their order. Runs are then merged:
//! - segments that touch, in any memory;
//! - segments apart by a gap no longer than the header the merge saves,
//!   in a memory the output defines (its bytes start as zeros, and no
//!   other active segment writes the gap, since none overlap), the gap
//!   written as zeros. A memory the output imports may hold anything in a
//!   gap, so there only touching segments merge.
//!
//! Data indices: after instantiation every active segment is dropped, so a
//! `memory.init` or `data.drop` naming one sees an empty segment; all
//! members of a run map to the run's output index without changing what
//! code that names them does. Passive and deferred segments are never
//! merged and keep their own index. Cost: O(n log n) in the number of
//! segments.

use wasm_encoder::{Encode, EntityType};
use wasmparser::DataKind;
use weld_format::Space;

use super::coalesce::constant;
use super::{Plan, Segment};
use crate::fuse::code::leb_len;
use crate::fuse::const_expr::const_expr;
use crate::fuse::context::FuseCx;

/// One output data segment made of several input segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataRun {
    /// The output memory.
    pub memory: u32,
    /// Whether the memory is 64-bit (the offset is an `i64.const`).
    pub memory64: bool,
    /// The first byte written.
    pub start: u64,
    /// The bytes written, gaps included.
    pub len: u64,
    /// Each member's first byte, relative to `start`, in member order.
    pub at: Vec<u64>,
}

/// The data segments in their new order, grouped into runs.
#[derive(Debug)]
pub struct CoalescedData {
    /// Every input segment, each run's members together, in output order.
    pub parts: Vec<Segment>,
    /// Where each output segment's members start in `parts`.
    pub starts: Vec<u32>,
    /// Per output segment: its run when it has two members or more.
    pub runs: Vec<Option<DataRun>>,
    /// Output index of each segment before coalescing -> output index now.
    pub renumber: Vec<u32>,
}

/// What the rule needs of one output memory.
#[derive(Debug, Clone, Copy)]
struct Memory {
    /// Its minimum size in bytes (saturated).
    min: u64,
    /// Whether the output defines it (starts zeroed).
    defined: bool,
    memory64: bool,
}

/// An active segment's place.
#[derive(Debug, Clone, Copy)]
struct Span {
    memory: u32,
    start: u64,
    end: u64,
    /// Its output index before coalescing.
    pos: u32,
}

/// Coalesces the plan's data segments (one output segment per input
/// segment, in output order), or `None` when nothing merges or the
/// conditions above fail.
pub fn coalesce_data(cx: &FuseCx<'_, '_>, plan: &Plan<'_>) -> Option<CoalescedData> {
    let data = &plan.data;
    if data.len() < 2 {
        return None;
    }
    let memories = output_memories(cx, plan)?;
    let mut spans = Vec::new();
    for (pos, seg) in data.iter().enumerate() {
        if seg.deferred {
            continue;
        }
        let k = seg.input.as_usize();
        let d = cx.modules[k].data.get(seg.index as usize)?;
        let DataKind::Active {
            memory_index,
            offset_expr,
        } = &d.kind
        else {
            continue;
        };
        let memory = plan.maps[k].memories.get(*memory_index as usize)?.0;
        let m = memories.get(memory as usize)?;
        let start = offset(cx, plan, k, offset_expr)?;
        let end = start.checked_add(d.data.len() as u64)?;
        if end > m.min {
            return None;
        }
        spans.push(Span {
            memory,
            start,
            end,
            pos: pos as u32,
        });
    }
    spans.sort_unstable_by_key(|s| (s.memory, s.start, s.end, s.pos));
    // A memory where two segments write one byte keeps its order.
    let mut overlapping = vec![false; memories.len()];
    for w in spans.windows(2) {
        if w[0].memory == w[1].memory && w[1].start < w[0].end {
            overlapping[w[0].memory as usize] = true;
        }
    }

    let mut runs: Vec<(u32, Vec<Span>)> = Vec::new();
    let mut merged = false;
    let mut in_run = vec![false; data.len()];
    let mut i = 0;
    while i < spans.len() {
        let memory = spans[i].memory;
        let m = memories[memory as usize];
        let mut j = i + 1;
        while j < spans.len()
            && spans[j].memory == memory
            && !overlapping[memory as usize]
            && joins(spans[i].start, &spans[j - 1], &spans[j], m)
        {
            j += 1;
        }
        merged |= j - i > 1;
        for s in &spans[i..j] {
            in_run[s.pos as usize] = true;
        }
        let first = spans[i..j].iter().map(|s| s.pos).min().unwrap_or(0);
        runs.push((first, spans[i..j].to_vec()));
        i = j;
    }
    if !merged {
        return None;
    }
    // Every other segment is a run of its own, at its own place.
    runs.extend((0..data.len() as u32).filter(|&p| !in_run[p as usize]).map(|p| {
        (
            p,
            vec![Span {
                memory: 0,
                start: 0,
                end: 0,
                pos: p,
            }],
        )
    }));
    runs.sort_unstable_by_key(|r| r.0);

    let mut out = CoalescedData {
        parts: Vec::with_capacity(data.len()),
        starts: Vec::with_capacity(runs.len()),
        runs: Vec::with_capacity(runs.len()),
        renumber: vec![0; data.len()],
    };
    for (n, (_, members)) in runs.iter().enumerate() {
        out.starts.push(out.parts.len() as u32);
        for s in members {
            out.renumber[s.pos as usize] = n as u32;
            out.parts.push(data[s.pos as usize]);
        }
        out.runs.push(match members.as_slice() {
            [_] => None,
            [first, .., last] => Some(DataRun {
                memory: first.memory,
                memory64: memories[first.memory as usize].memory64,
                start: first.start,
                len: last.end - first.start,
                at: members.iter().map(|s| s.start - first.start).collect(),
            }),
            [] => None,
        });
    }
    Some(out)
}

/// Whether `next` joins the run from `start` that ends with `prev` in
/// memory `m`: it touches it, or (in a defined memory) the zeros between
/// them and the longer length field of the run cost no more than the
/// header of `next` they save, so a merge never makes the output larger.
fn joins(start: u64, prev: &Span, next: &Span, m: Memory) -> bool {
    let gap = next.start - prev.end;
    if gap == 0 {
        return true;
    }
    let longer = leb_len(next.end - start) - leb_len(prev.end - start);
    // (A gap may be most of a 64-bit memory: compared without overflow.)
    m.defined && gap.saturating_add(longer as u64) <= header_len(next, m) as u64
}

/// The bytes of an active segment's header as emit writes it: flags (and
/// memory), `i32.const` or `i64.const` of its offset and `end`, length.
fn header_len(s: &Span, m: Memory) -> usize {
    let flags = match s.memory {
        0 => 1,
        memory => 1 + leb_len(u64::from(memory)),
    };
    // An i32 offset is written as the signed value of its 32 bits.
    let offset = match m.memory64 {
        true => s.start as i64,
        false => i64::from(s.start as u32 as i32),
    };
    flags + 1 + sleb_len(offset) + 1 + leb_len(s.end - s.start)
}

/// The length of `x` as a signed LEB128.
fn sleb_len(mut x: i64) -> usize {
    let mut n = 1;
    while !(-64..64).contains(&x) {
        x >>= 7;
        n += 1;
    }
    n
}

/// The constant value of a data segment's offset, once remapped (and a
/// library's base spliced in and folded); `None` when not constant.
pub(crate) fn offset(
    cx: &FuseCx<'_, '_>,
    plan: &Plan<'_>,
    k: usize,
    expr: &wasmparser::ConstExpr<'_>,
) -> Option<u64> {
    // (`constant` gives an `i32.const` as its unsigned 32-bit value.)
    if let Some(v) = constant(expr) {
        return Some(v);
    }
    let mut bytes = Vec::new();
    const_expr(cx, plan, k, expr).ok()?.encode(&mut bytes);
    constant(&wasmparser::ConstExpr::new(wasmparser::BinaryReader::new(
        &bytes, 0,
    )))
}

/// Every output memory, imports first; `None` if the imports do not
/// account for the plan's imported memories.
fn output_memories(cx: &FuseCx<'_, '_>, plan: &Plan<'_>) -> Option<Vec<Memory>> {
    let bytes = |pages: u64, log2: Option<u32>| pages.saturating_mul(1u64 << log2.unwrap_or(16).min(32));
    let mut out: Vec<Memory> = plan
        .imports
        .iter()
        .filter_map(|i| match i.ty {
            EntityType::Memory(t) => Some(Memory {
                min: bytes(t.minimum, t.page_size_log2),
                defined: false,
                memory64: t.memory64,
            }),
            _ => None,
        })
        .collect();
    if out.len() as u32 != plan.n_imports[Space::Memory] {
        return None;
    }
    out.extend(plan.memories.iter().map(|&(k, d)| {
        let t = &cx.modules[k.as_usize()].memories[d as usize];
        Memory {
            min: bytes(t.initial, t.page_size_log2),
            defined: true,
            memory64: t.memory64,
        }
    }));
    Some(out)
}

#[cfg(test)]
mod tests {
    use crate::fuse::plan::testing::fused_wat;

    /// The data segments of fusing `inputs` (WAT) as `@offset len` (active)
    /// or `passive len`; the output validates.
    fn fused_data(inputs: &[(&str, &str)]) -> Vec<String> {
        let out = fused_wat(inputs);
        let mut segs = Vec::new();
        for p in wasmparser::Parser::new(0).parse_all(&out.bytes) {
            if let wasmparser::Payload::DataSection(r) = p.unwrap() {
                for d in r {
                    let d = d.unwrap();
                    segs.push(match d.kind {
                        wasmparser::DataKind::Active { offset_expr, .. } => {
                            let at = super::constant(&offset_expr).map_or("?".to_string(), |v| v.to_string());
                            format!("@{at} {}", d.data.len())
                        }
                        wasmparser::DataKind::Passive => format!("passive {}", d.data.len()),
                    });
                }
            }
        }
        assert_eq!(out.map.segments.data_out, segs.len());
        segs
    }

    /// A library defining one page of memory with `segs` (offset, bytes).
    fn lib(segs: &[(u32, &str)]) -> String {
        let d: String = segs
            .iter()
            .map(|(at, s)| format!("(data (i32.const {at}) \"{s}\")"))
            .collect();
        format!(r#"(module (memory (export "m") 1) {d})"#)
    }

    /// A user importing lib's memory with minimum `min` pages.
    fn user(min: u32, segs: &[(u32, &str)]) -> String {
        let d: String = segs
            .iter()
            .map(|(at, s)| format!("(data (i32.const {at}) \"{s}\")"))
            .collect();
        format!(r#"(module (import "lib" "m" (memory {min})) {d})"#)
    }

    #[test]
    fn signed_leb_lengths_match_the_encoder() {
        use wasm_encoder::Encode;
        for x in [
            0i64,
            63,
            64,
            -64,
            -65,
            8191,
            8192,
            i64::from(i32::MIN),
            i64::from(u32::MAX),
            i64::MAX,
            i64::MIN,
        ] {
            let mut bytes = Vec::new();
            x.encode(&mut bytes);
            assert_eq!(super::sleb_len(x), bytes.len(), "{x}");
        }
    }

    #[test]
    fn touching_segments_of_several_inputs_and_small_gaps_become_one() {
        // 0..2, 2..4 touch; 4..6 from the user touches; 9..11 is 3 zeros
        // away (cheaper than its 5-byte header); 100 is far.
        let l = lib(&[(0, "ab"), (2, "cd"), (9, "ef"), (100, "gh")]);
        let u = user(1, &[(4, "xy")]);
        assert_eq!(fused_data(&[("lib", &l), ("u", &u)]), ["@0 11", "@100 2"]);
        // Six zeros cost more than the header they would save.
        let l = lib(&[(0, "ab"), (8, "ef")]);
        assert_eq!(fused_data(&[("lib", &l)]), ["@0 2", "@8 2"]);
    }

    #[test]
    fn a_memory_from_outside_merges_only_touching_segments() {
        let host = r#"(module (import "env" "m" (memory 1))
            (data (i32.const 0) "ab") (data (i32.const 2) "cd") (data (i32.const 6) "ef"))"#;
        assert_eq!(fused_data(&[("host", host)]), ["@0 4", "@6 2"]);
    }

    #[test]
    fn overlapping_segments_keep_their_order_and_others_still_merge() {
        let l = lib(&[(2, "cd"), (0, "abc")]);
        assert_eq!(fused_data(&[("lib", &l)]), ["@2 2", "@0 3"]);
        // Another memory's segments merge all the same.
        let two = r#"(module (memory 1) (memory 1)
            (data (memory 0) (i32.const 2) "cd") (data (memory 0) (i32.const 0) "abc")
            (data (memory 1) (i32.const 0) "ab") (data (memory 1) (i32.const 2) "cd"))"#;
        assert_eq!(fused_data(&[("two", two)]), ["@2 2", "@0 3", "@0 4"]);
    }

    #[test]
    fn a_segment_that_may_trap_keeps_every_segment_in_place() {
        // The user's segment ends past the memory's one page: it traps
        // after the segments before it were written, so nothing moves.
        let l = lib(&[(0, "ab"), (2, "cd")]);
        let u = user(0, &[(65535, "xy")]);
        assert_eq!(
            fused_data(&[("lib", &l), ("u", &u)]),
            ["@0 2", "@2 2", "@65535 2"]
        );
        // What the output's memory holds counts, not what an input knows
        // of it: the user declares no page, but the memory has one.
        let u = user(0, &[(4, "xy")]);
        assert_eq!(fused_data(&[("lib", &l), ("u", &u)]), ["@0 6"]);
        // An offset read from an imported global is not known here.
        let g = r#"(module (import "env" "base" (global i32)) (memory 1)
            (data (global.get 0) "ab") (data (i32.const 0) "ab") (data (i32.const 2) "cd"))"#;
        assert_eq!(fused_data(&[("g", g)]), ["@? 2", "@0 2", "@2 2"]);
    }

    #[test]
    fn passive_and_deferred_segments_stay_apart_and_indices_follow() {
        // `a` has a start: `b`'s active segments are initialised after it,
        // from the synthesized start, so they stay passive and separate.
        let a = r#"(module (memory (export "m") 1) (func $s) (start $s)
            (data (i32.const 0) "ab") (data (i32.const 2) "cd"))"#;
        let b = user(1, &[(4, "xy"), (6, "zw")]);
        assert_eq!(
            fused_data(&[("a", a), ("b", &b)]),
            ["@0 4", "passive 2", "passive 2"]
        );
        // A passive segment between merged ones keeps its index in code.
        let c = r#"(module (memory 1)
            (data (i32.const 0) "ab") (data "pp") (data (i32.const 2) "cd")
            (func (export "f") (memory.init 1 (i32.const 8) (i32.const 0) (i32.const 2)) (data.drop 2)))"#;
        assert_eq!(fused_data(&[("c", c)]), ["@0 4", "passive 2"]);
    }
}

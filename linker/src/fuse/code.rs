//! Stage 6a, **rewrite code**: the plan's maps + the inputs' bodies → the
//! fused module's function bodies, in parallel (rayon), in output order.
//!
//! Each body goes through the streaming rewriter of `weld_format::rewrite`,
//! optionally listing the function indices it names (for identical code
//! folding, which then needs no decoding of its own). Bodies are packed into
//! chunk arenas of [`CHUNK`] functions, one allocation each, so the writer
//! can free a chunk as soon as it is copied into the output. Cost: one
//! decode per body that changes or whose references are wanted; others are
//! copied.

use std::ops::Range;

use rayon::prelude::*;
use wasmparser::FuncValidatorAllocations;
use weld_format::rewrite::{
    rewrite_checked, FuncRef, Identity, MergedMemories, MergedTables, Shift, TableUse, Wanted,
};
use weld_format::survey::ModuleSurvey;
use weld_format::{FuncIdx, InputId};

use crate::error::{FuseError, Item};
use crate::fuse::check::FuncCheck;
use crate::fuse::context::FuseCx;
use crate::fuse::plan::Plan;

/// Functions per arena, and per parallel task, at most.
pub const CHUNK: usize = 1024;

/// Input code per parallel task, at least: below it tasks cost more than
/// they share.
const MIN_PIECE_BYTES: usize = 64 << 10;

/// Pieces of `funcs` for parallel tasks, cut by code size as well as by
/// count: at most [`CHUNK`] functions each, and about a 64th of the code
/// (at least [`MIN_PIECE_BYTES`]), so that a few inputs' large functions
/// (a split program's primary module, say) do not land in one task. The
/// pieces depend on the inputs only, never on the thread count.
pub fn pieces(modules: &[&ModuleSurvey<'_>], funcs: &[(InputId, u32)]) -> Vec<Range<usize>> {
    let len = |&(k, d): &(InputId, u32)| modules[k.as_usize()].bodies[d as usize].as_bytes().len();
    let total: usize = funcs.iter().map(len).sum();
    let target = (total / 64).max(MIN_PIECE_BYTES);
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, f) in funcs.iter().enumerate() {
        bytes += len(f);
        if i + 1 - start == CHUNK || bytes >= target {
            out.push(start..i + 1);
            (start, bytes) = (i + 1, 0);
        }
    }
    if start < funcs.len() {
        out.push(start..funcs.len());
    }
    out
}

/// Every rewritten body of the plan's functions, in plan order: the chunks,
/// and which chunk holds each body.
#[derive(Debug, Default)]
pub struct Rewritten {
    chunks: Vec<Chunk>,
    /// Body `i`'s chunk and place in it.
    at: Vec<(u32, u32)>,
    /// Body `i`'s function: (input, defined index).
    funcs: Vec<(InputId, u32)>,
}

impl Rewritten {
    fn new(chunks: Vec<Chunk>, funcs: Vec<(InputId, u32)>) -> Rewritten {
        let at = chunks
            .iter()
            .enumerate()
            .flat_map(|(c, chunk)| (0..chunk.len() as u32).map(move |j| (c as u32, j)))
            .collect();
        Rewritten { chunks, at, funcs }
    }

    /// The number of bodies.
    pub fn len(&self) -> usize {
        self.at.len()
    }

    /// Each body's function, (input, defined index), in order.
    pub fn funcs(&self) -> &[(InputId, u32)] {
        &self.funcs
    }

    /// Body `i` (plan order).
    pub fn body(&self, i: usize) -> Body<'_> {
        let (c, j) = self.at[i];
        self.chunks[c as usize].body(j as usize)
    }
}

/// One body's place in its chunk.
#[derive(Debug, Clone)]
struct Span {
    bytes: Range<u32>,
    refs: Range<u32>,
    tables: Range<u32>,
    shifts: Range<u32>,
}

/// The rewritten bodies of up to [`CHUNK`] consecutive functions.
#[derive(Debug, Default)]
pub struct Chunk {
    bytes: Vec<u8>,
    refs: Vec<FuncRef>,
    tables: Vec<TableUse>,
    shifts: Vec<Shift>,
    spans: Vec<Span>,
}

/// One rewritten body (locals and code, without its size), borrowed from its
/// chunk.
#[derive(Debug, Clone, Copy)]
pub struct Body<'c> {
    /// The bytes.
    pub bytes: &'c [u8],
    /// Every function index the body names, when they were asked for.
    pub refs: &'c [FuncRef],
    /// Every table use of the body's live code, when asked for.
    pub tables: &'c [TableUse],
    /// The body's offset map from its input (see [`Shift`]), when asked
    /// for.
    pub shifts: &'c [Shift],
}

impl Chunk {
    /// The number of bodies.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Body `i` of this chunk.
    pub fn body(&self, i: usize) -> Body<'_> {
        let s = &self.spans[i];
        Body {
            bytes: &self.bytes[s.bytes.start as usize..s.bytes.end as usize],
            refs: &self.refs[s.refs.start as usize..s.refs.end as usize],
            tables: &self.tables[s.tables.start as usize..s.tables.end as usize],
            shifts: &self.shifts[s.shifts.start as usize..s.shifts.end as usize],
        }
    }
}

/// The room to reserve for bodies of `input` bytes once rewritten (a chunk
/// arena, or the output's code when emit rewrites). Rewriting grows them a
/// little: a memory index byte on each access of an input whose memory is
/// no longer memory 0, longer call LEBs once the output has more than
/// 16,384 functions (7% on fastly + ruff + canvaskit). Sized to the input
/// alone, most arenas outgrew it and were copied into one twice as large
/// (40 of 65 there); with a quarter more, no arena of the benches/compare
/// workloads grows. Capacity that is never written costs address space
/// only: the system backs pages when they are first touched.
pub(crate) fn rewritten_capacity(input: usize) -> usize {
    input + input / 4 + 64
}

/// Rewrites the bodies of `funcs` (input, defined index) into one chunk,
/// one after another, straight into the chunk's arena (sized from the input
/// bodies): chunks are what runs in parallel. With `checks` (one per input),
/// each body is validated in its own module in the same decode.
pub fn rewrite_chunk(
    cx: &FuseCx<'_, '_>,
    plan: &Plan<'_>,
    identities: &[Identity],
    checks: Option<&[FuncCheck]>,
    funcs: &[(InputId, u32)],
    lists: Lists,
) -> Result<Chunk, FuseError> {
    let Lists {
        refs: with_refs,
        shifts: with_shifts,
    } = lists;
    let FuseCx { files, modules, .. } = *cx;
    let size: usize = funcs
        .iter()
        .map(|&(k, d)| modules[k.as_usize()].bodies[d as usize].as_bytes().len() + 8)
        .sum();
    let mut chunk = Chunk {
        bytes: Vec::with_capacity(rewritten_capacity(size)),
        refs: Vec::new(),
        tables: Vec::new(),
        shifts: Vec::new(),
        spans: Vec::with_capacity(funcs.len()),
    };
    let mut allocs = FuncValidatorAllocations::default();
    for &(k, d) in funcs {
        let ki = k.as_usize();
        let m = modules[ki];
        let body = &m.bodies[d as usize];
        let (b, r, t, s) = (
            chunk.bytes.len() as u32,
            chunk.refs.len() as u32,
            chunk.tables.len() as u32,
            chunk.shifts.len() as u32,
        );
        let mut remap = plan.maps[ki].remap();
        let ty = m.func_types[(m.imported.funcs + d) as usize].0;
        let mut validator = checks.and_then(|c| c[ki].validator(d, ty, std::mem::take(&mut allocs)));
        let merge = plan.merged.as_ref().map(|l| MergedMemories {
            places: &l.places,
            params: params(m, ty),
        });
        let merge_tables = plan.merged_tables.as_ref().map(|l| MergedTables {
            places: &l.places,
            element: l.element,
            params: params(m, ty),
        });
        let wanted = Wanted {
            refs: with_refs.then_some(&mut chunk.refs),
            validator: validator.as_mut(),
            tables: with_refs.then_some(&mut chunk.tables),
            shifts: with_shifts.then_some(&mut chunk.shifts),
            merge,
            merge_tables,
        };
        rewrite_checked(&mut remap, &identities[ki], body, &mut chunk.bytes, wanted).map_err(|e| {
            let index = m.imported.funcs + d;
            FuseError::rewrite(files[ki], Item::Func { index, name: None }, e)
        })?;
        if let Some(v) = validator {
            allocs = v.into_allocations();
        }
        chunk.spans.push(Span {
            bytes: b..chunk.bytes.len() as u32,
            refs: r..chunk.refs.len() as u32,
            tables: t..chunk.tables.len() as u32,
            shifts: s..chunk.shifts.len() as u32,
        });
    }
    Ok(chunk)
}

/// The parameter count of type `ty` of module `m` (0 if it is not a
/// function type: the validator reports that).
fn params(m: &ModuleSurvey<'_>, ty: u32) -> u32 {
    match m.types.get(ty as usize).map(|t| &t.composite_type.inner) {
        Some(wasmparser::CompositeInnerType::Func(f)) => f.params().len() as u32,
        _ => 0,
    }
}

/// What [`rewrite_chunk`] lists besides the bodies.
#[derive(Debug, Clone, Copy, Default)]
pub struct Lists {
    /// Function references and table uses.
    pub refs: bool,
    /// Offset maps, for debug information.
    pub shifts: bool,
}

/// Rewrites every defined function of the plan, listing function
/// references (and validating each body, with `checks`; with `shifts`,
/// recording its offset map).
pub fn rewrite_bodies(
    cx: &FuseCx<'_, '_>,
    plan: &Plan<'_>,
    checks: Option<&[FuncCheck]>,
    shifts: bool,
) -> Result<Rewritten, FuseError> {
    let identities: Vec<Identity> = plan.maps.iter().map(|m| m.remap().identity()).collect();
    let lists = Lists { refs: true, shifts };
    pieces(cx.modules, &plan.funcs)
        .into_par_iter()
        .map(|r| rewrite_chunk(cx, plan, &identities, checks, &plan.funcs[r], lists))
        .collect::<Result<Vec<_>, _>>()
        .map(|chunks| Rewritten::new(chunks, plan.funcs.clone()))
}

/// [`rewrite_bodies`] for the per-stage benches (`weld_linker::stages`),
/// which hold the run's pieces apart. Rewriting reads neither link names nor
/// links, so the context gets none.
#[cfg(feature = "stages")]
pub fn rewrite_all(
    plan: &Plan<'_>,
    modules: &[&weld_format::survey::ModuleSurvey<'_>],
    files: &[&str],
) -> Result<Rewritten, FuseError> {
    let cx = FuseCx {
        files,
        names: &[],
        modules,
        links: &crate::resolve::Resolution {
            targets: Vec::new(),
            problems: Vec::new(),
            host_map: None,
        },
        dylink: false,
    };
    rewrite_bodies(&cx, plan, None, false)
}

/// The length of `x` as an unsigned LEB128.
pub fn leb_len(mut x: u64) -> usize {
    let mut n = 1;
    while x >= 0x80 {
        x >>= 7;
        n += 1;
    }
    n
}

impl Body<'_> {
    /// The runs of bytes between function references (the body with every
    /// function index left out).
    pub fn runs(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let ends = self
            .refs
            .iter()
            .map(|r| (r.at as usize, r.at as usize + leb_len(r.func as u64)));
        let mut at = 0usize;
        ends.map(Some).chain([None]).map(move |e| match e {
            Some((start, end)) => {
                let run = &self.bytes[at..start];
                at = end;
                run
            }
            None => &self.bytes[at..],
        })
    }

    /// The body's length once every function index `f` is replaced by
    /// `renumber[f]`.
    pub fn patched_len(&self, renumber: Option<&[FuncIdx]>) -> usize {
        let Some(renumber) = renumber else {
            return self.bytes.len();
        };
        self.refs.iter().fold(self.bytes.len(), |len, r| {
            len - leb_len(r.func as u64) + leb_len(renumber[r.func as usize].raw() as u64)
        })
    }

    /// The body's offset map once patched by `renumber`: the points where
    /// a function index's LEB128 changes length (offsets from the body
    /// rewritten before the patch to the body written).
    pub fn patch_shifts(&self, renumber: Option<&[FuncIdx]>) -> Vec<Shift> {
        let Some(renumber) = renumber else {
            return Vec::new();
        };
        let mut delta = 0i64;
        let mut out = Vec::new();
        for r in self.refs {
            let (old, new) = (
                leb_len(r.func as u64),
                leb_len(renumber[r.func as usize].raw() as u64),
            );
            if old != new {
                delta += new as i64 - old as i64;
                let from = r.at + old as u32;
                out.push(Shift {
                    from,
                    to: (from as i64 + delta) as u32,
                });
            }
        }
        out
    }

    /// Writes the body into `out`, exactly [`Body::patched_len`] bytes long,
    /// with every function index `f` replaced by `renumber[f]`.
    pub fn write_patched(&self, renumber: Option<&[FuncIdx]>, out: &mut [u8]) {
        let Some(renumber) = renumber else {
            out.copy_from_slice(self.bytes);
            return;
        };
        let mut at = 0;
        for (run, r) in self.runs().zip(self.refs.iter().map(Some).chain([None])) {
            out[at..at + run.len()].copy_from_slice(run);
            at += run.len();
            if let Some(r) = r {
                at += put_leb(&mut out[at..], renumber[r.func as usize].raw());
            }
        }
    }
}

/// Writes `x` as a minimal LEB128 at the start of `out`; returns its length.
pub fn put_leb(out: &mut [u8], mut x: u32) -> usize {
    let mut n = 0;
    loop {
        let byte = (x & 0x7f) as u8;
        x >>= 7;
        if x == 0 {
            out[n] = byte;
            return n + 1;
        }
        out[n] = byte | 0x80;
        n += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_leb_writes_what_wasm_encoder_writes() {
        for x in [
            0u32,
            1,
            0x7f,
            0x80,
            0x3fff,
            0x4000,
            0x1f_ffff,
            0x20_0000,
            u32::MAX,
        ] {
            let mut want = Vec::new();
            wasm_encoder::Encode::encode(&x, &mut want);
            let mut got = [0u8; 5];
            let n = put_leb(&mut got, x);
            assert_eq!(&got[..n], want.as_slice(), "{x}");
            assert_eq!(n, leb_len(x as u64), "{x}");
        }
    }
}

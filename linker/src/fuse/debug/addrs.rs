//! Code addresses, input → output: where every input function's code went
//! and how offsets inside it moved.
//!
//! A code address is an offset from the start of the code section's
//! payload (the byte after its size), as the WebAssembly tool conventions
//! define DWARF's addresses; source maps use file offsets, which differ
//! by where each code section starts ([`CodeMap::input_code`],
//! [`CodeMap::out_code`]). Inside a body, the rewriter's offset map (see
//! [`Shift`]) moves an offset; then the final patch of function indices
//! (after folding and reordering) moves it again. Cost: one binary search
//! for the function, two for the offset.

use rayon::prelude::*;
use weld_format::rewrite::{map_offset_at, Shift};
use weld_format::survey::ModuleSurvey;
use weld_format::FuncIdx;

use crate::fuse::code::{leb_len, Rewritten};
use crate::fuse::plan::{Plan, EMPTY, REMOVED};

/// Where an input address went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moved {
    /// Into its function's body in the output, at this address.
    To(u32),
    /// Its function was folded into an identical one: this address of the
    /// body kept in its place.
    Folded(u32),
    /// Its function is not in the output (removed as unused, or its body
    /// replaced by `unreachable`), or the address is in no function.
    Gone,
}

impl Moved {
    /// The address, for data that must only name kept code.
    pub fn kept(self) -> Option<u32> {
        match self {
            Moved::To(a) => Some(a),
            _ => None,
        }
    }

    /// The address, folded functions' included (line tables: a breakpoint
    /// on a folded function stops in the body that replaced it).
    pub fn placed(self) -> Option<u32> {
        match self {
            Moved::To(a) | Moved::Folded(a) => Some(a),
            Moved::Gone => None,
        }
    }
}

/// One function's code: where its size starts, its body (local
/// declarations) starts, and it ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FuncSpan {
    /// Where its size LEB128 starts.
    pub start: u32,
    /// Where its local declarations start.
    pub body: u32,
    /// One past its last byte.
    pub end: u32,
}

/// Where one defined function of an input went.
#[derive(Debug, Clone, Copy)]
enum Place {
    /// Kept or folded: the output body it is found in (position among the
    /// output's bodies), and its own rewritten body (for the offset maps).
    In { out: u32, own: u32, folded: bool },
    /// Not in the output.
    Gone,
}

/// One input's code.
#[derive(Debug)]
struct InputCode {
    /// Each defined function's span, in input code addresses.
    spans: Vec<FuncSpan>,
    /// Where each went.
    places: Vec<Place>,
}

/// Every input's code addresses, moved into the output's.
#[derive(Debug)]
pub struct CodeMap<'r> {
    /// Per input (by `InputId`).
    inputs: Vec<InputCode>,
    /// Where each input's code section payload starts, in its file.
    input_code: Vec<u64>,
    /// Each output body's span, in output code addresses.
    out: Vec<FuncSpan>,
    /// Where the output's code section payload starts, in its file.
    out_code: u64,
    /// Each rewritten body's first offset map (the rewrite).
    shifts: Vec<&'r [Shift]>,
    /// Each rewritten body's second offset map (the function-index patch).
    patched: Vec<Vec<Shift>>,
}

/// The spans of a module's defined functions, in its code addresses, and
/// where its code section's payload starts in its file (`None` without a
/// code section).
pub fn input_spans(m: &ModuleSurvey<'_>) -> Option<(u64, Vec<FuncSpan>)> {
    let sec = m.sections.iter().find(|s| s.id == 10 && s.name.is_none())?;
    // The section's id, its size, then the payload: a count, then bodies.
    let at = (sec.range.start - m.base) as usize + 1;
    let size_len = leb_bytes(m.bytes.get(at..)?)?;
    let payload = sec.range.start + 1 + size_len as u64;
    let count_len = leb_bytes(m.bytes.get(at + size_len..)?)?;
    let mut start = count_len as u32;
    let spans = m
        .bodies
        .iter()
        .map(|b| {
            let r = b.range();
            let body = (r.start - payload) as u32;
            let end = (r.end - payload) as u32;
            let span = FuncSpan { start, body, end };
            start = end;
            span
        })
        .collect();
    Some((payload, spans))
}

/// The length of the LEB128 at the start of `bytes`.
fn leb_bytes(bytes: &[u8]) -> Option<usize> {
    bytes.iter().take(5).position(|b| b & 0x80 == 0).map(|n| n + 1)
}

impl<'r> CodeMap<'r> {
    /// The map of a fused module whose bodies are `bodies` (rewritten in
    /// the order of their `funcs`), written in `order` (indices among them,
    /// or [`EMPTY`]), patched by `plan.renumber`, the code section's count
    /// taking `count_len` bytes. Where the output's code section starts is
    /// set once the sections before it are built ([`CodeMap::set_out_code`]).
    pub fn new(
        modules: &[&ModuleSurvey<'_>],
        plan: &Plan<'_>,
        bodies: &'r Rewritten,
        order: &[u32],
        count_len: usize,
    ) -> CodeMap<'r> {
        let renumber = plan.renumber.as_deref();
        let n = bodies.len();
        let (shifts, patched): (Vec<&[Shift]>, Vec<Vec<Shift>>) = (0..n)
            .into_par_iter()
            .map(|i| {
                let b = bodies.body(i);
                (b.shifts, b.patch_shifts(renumber))
            })
            .unzip();
        // Output spans, in order.
        let mut at = count_len as u32;
        let out = order
            .iter()
            .map(|&i| {
                let len = match i {
                    EMPTY => 3,
                    i => bodies.body(i as usize).patched_len(renumber) as u32,
                };
                let body = at + leb_len(len as u64) as u32;
                let span = FuncSpan {
                    start: at,
                    body,
                    end: body + len,
                };
                at = span.end;
                span
            })
            .collect();
        // Each input function's own rewritten body.
        let mut own: Vec<Vec<u32>> = modules.iter().map(|m| vec![u32::MAX; m.bodies.len()]).collect();
        for (i, &(k, d)) in bodies.funcs().iter().enumerate() {
            own[k.as_usize()][d as usize] = i as u32;
        }
        let n_imp = plan.n_imports[weld_format::Space::Func];
        let mut input_code = Vec::with_capacity(modules.len());
        let inputs = modules
            .iter()
            .enumerate()
            .map(|(k, m)| {
                let (payload, spans) = input_spans(m).unwrap_or_default();
                input_code.push(payload);
                let places = (0..m.bodies.len())
                    .map(|d| {
                        let f: FuncIdx = plan.maps[k].funcs[(m.imported.funcs as usize) + d];
                        let i = own[k][d];
                        if f.0 == REMOVED || f.0 < n_imp || i == u32::MAX {
                            return Place::Gone;
                        }
                        let j = f.0 - n_imp;
                        match order.get(j as usize) {
                            Some(&b) if b == i => Place::In {
                                out: j,
                                own: i,
                                folded: false,
                            },
                            Some(&b) if b != EMPTY => Place::In {
                                out: j,
                                own: i,
                                folded: true,
                            },
                            _ => Place::Gone,
                        }
                    })
                    .collect();
                InputCode { spans, places }
            })
            .collect();
        CodeMap {
            inputs,
            input_code,
            out,
            out_code: 0,
            shifts,
            patched,
        }
    }

    /// Where input `k`'s code section payload starts in its file.
    pub fn input_code(&self, k: usize) -> u64 {
        self.input_code[k]
    }

    /// Where the output's code section payload starts in its file.
    pub fn out_code(&self) -> u64 {
        self.out_code
    }

    /// Sets where the output's code section payload starts in its file.
    pub fn set_out_code(&mut self, at: u64) {
        self.out_code = at;
    }

    /// Input `k`'s defined functions' spans.
    pub fn spans(&self, k: usize) -> &[FuncSpan] {
        &self.inputs[k].spans
    }

    /// The input function of `k` whose code holds `addr` (`end`: an
    /// exclusive end address, which may be one past its last byte).
    pub fn func_at(&self, k: usize, addr: u32, end: bool) -> Option<usize> {
        let spans = &self.inputs[k].spans;
        // Addresses come in runs inside one function: the last one found
        // (on this thread) is tried first.
        thread_local!(static LAST: std::cell::Cell<(usize, usize)> = const { std::cell::Cell::new((usize::MAX, 0)) });
        let (lk, ld) = LAST.get();
        if lk == k {
            if let Some(s) = spans.get(ld) {
                let inside = if end {
                    s.start < addr && addr <= s.end
                } else {
                    s.start <= addr && addr < s.end
                };
                if inside {
                    return Some(ld);
                }
            }
        }
        let i = if end {
            spans.partition_point(|s| s.end < addr)
        } else {
            spans.partition_point(|s| s.end <= addr)
        };
        let s = spans.get(i)?;
        let inside = if end {
            s.start < addr && addr <= s.end
        } else {
            s.start <= addr && addr < s.end
        };
        if inside {
            LAST.set((k, i));
        }
        inside.then_some(i)
    }

    /// Input `k`'s code address `addr`, moved (`end`: an exclusive end).
    pub fn translate(&self, k: usize, addr: u32, end: bool) -> Moved {
        match self.func_at(k, addr, end) {
            Some(d) => self.translate_in(k, d, addr),
            None => Moved::Gone,
        }
    }

    /// A cursor over input `k`'s defined function `d`, for addresses that
    /// mostly come in increasing order (a line sequence); `None` when the
    /// function is not in the output. The second value says whether it
    /// was folded.
    pub fn cursor(&self, k: usize, d: usize) -> Option<(Cursor<'_>, bool)> {
        let input = &self.inputs[k];
        let Place::In { out, own, folded } = input.places[d] else {
            return None;
        };
        Some((
            Cursor {
                span: input.spans[d],
                out: self.out[out as usize],
                first: self.shifts[own as usize],
                second: &self.patched[own as usize],
                at: None,
                last: 0,
            },
            folded,
        ))
    }

    /// An address of input `k`'s defined function `d` (inside its span,
    /// its end included), moved.
    pub fn translate_in(&self, k: usize, d: usize, addr: u32) -> Moved {
        match self.cursor(k, d) {
            Some((mut c, false)) => Moved::To(c.at(addr)),
            Some((mut c, true)) => Moved::Folded(c.at(addr)),
            None => Moved::Gone,
        }
    }
}

/// Addresses of one function, moved in (mostly) increasing order: each
/// offset map is searched for the first address, then walked forward from
/// where the last address left it, and searched again only when an
/// address goes back.
#[derive(Debug)]
pub struct Cursor<'m> {
    span: FuncSpan,
    out: FuncSpan,
    first: &'m [Shift],
    second: &'m [Shift],
    /// How many points of each map lie at or before the last offset
    /// (`None`: not known, found by binary search at the next address).
    at: Option<(usize, usize)>,
    last: u32,
}

impl Cursor<'_> {
    /// Address `addr` of the function (inside its span, its end included),
    /// moved.
    pub fn at(&mut self, addr: u32) -> u32 {
        let (s, o) = (self.span, self.out);
        if addr <= s.start {
            return o.start;
        }
        if addr < s.body {
            return o.body;
        }
        let x = addr - s.body;
        if x < self.last {
            self.at = None;
        }
        self.last = x;
        let (first, second) = (self.first, self.second);
        let at = self.at.get_or_insert_with(|| {
            let i = first.partition_point(|p| p.from <= x);
            let y = map_offset_at(first, i, x);
            (i, second.partition_point(|p| p.from <= y))
        });
        let y = step(first, &mut at.0, x);
        (o.body + step(second, &mut at.1, y)).min(o.end)
    }
}

/// [`map_offset`](weld_format::rewrite::map_offset), walking forward from
/// `*i` points (which must all lie at or before `x`).
fn step(shifts: &[Shift], i: &mut usize, x: u32) -> u32 {
    while *i < shifts.len() && shifts[*i].from <= x {
        *i += 1;
    }
    map_offset_at(shifts, *i, x)
}

//! Stage 6, **emit**: [`Plan`] + surveys → the fused module's bytes.
//!
//! The small sections are encoded with wasm-encoder. Function bodies are
//! rewritten in parallel (rayon), a chunk at a time, each by the streaming
//! rewriter of `weld_format::rewrite`; bodies whose input maps every index to
//! itself are borrowed from the input, not copied. Data segment contents are
//! always borrowed. The output buffer is allocated once: with every body
//! rewritten up front, at its exact size, and given an output path, as
//! that path's temporary file mapped into memory (`MappedOutput`), so the
//! module is built in the page cache; else sized from the inputs and filled
//! in order, the code section's size a padded LEB patched at the end.
//! Output is byte-identical whatever the thread count: the parallel step
//! only produces bodies, collected in order.

use std::borrow::Cow;
use std::path::Path;

use wasm_encoder::reencode::Reencode;
use wasm_encoder::{
    ConstExpr, DataCountSection, ElementMode, ElementSection, ElementSegment, Elements, Encode, ExportKind,
    ExportSection, FunctionSection, GlobalSection, ImportSection, MemorySection, Module, StartSection,
    TableSection, TagKind, TagSection, TagType,
};
use wasmparser::{DataKind, ElementItems, ElementKind, ExternalKind, TableInit};
use weld_format::rewrite::RewriteError;

use rayon::prelude::*;

use crate::error::FuseError;
use crate::fuse::check::FuncCheck;
use crate::fuse::code::{
    leb_len, pieces, put_leb, rewrite_chunk, rewritten_capacity, Body, Lists, Rewritten, CHUNK,
};
use crate::fuse::const_expr::{const_expr, lone_ref_func};
use crate::fuse::context::FuseCx;
use crate::fuse::custom::merge_customs;
use crate::fuse::debug::addrs::CodeMap;
use crate::fuse::debug::{DebugOut, SourceMapOptions};
use crate::fuse::plan::{Plan, Segment, Start, StartStep, EMPTY, REMOVED};
use weld_format::write::{MappedOutput, Output, Staged, WriteError};

fn malformed(file: &str, item: impl Into<String>, e: RewriteError) -> FuseError {
    FuseError::rewrite(file, item.into(), e)
}

/// Writes the fused module, and returns it with the warnings of merging its
/// custom sections (see [`merge_customs`]; `strip_debug` drops debug
/// information).
///
/// `chunks`, when given, hold the bodies rewritten for identical code
/// folding (before it: `plan.kept` says which survive, `plan.renumber` how
/// to patch them); each chunk is freed once copied. Otherwise bodies are
/// rewritten here, a chunk at a time (and validated, with `checks`).
///
/// With `debug` (the inputs have debug information, or source maps are
/// asked for; the bodies must then be given, with their offset maps), the
/// inputs' DWARF is rewritten while the sections before the code are
/// built, and the source maps once the code section's place is known; the
/// debug sections go after the merged custom sections.
pub fn emit(
    cx: &FuseCx<'_, '_>,
    plan: &Plan<'_>,
    strip_debug: bool,
    chunks: Option<Rewritten>,
    checks: Option<&[FuncCheck]>,
    target: Option<&Path>,
    debug: Option<&SourceMapOptions>,
) -> Result<Emitted, FuseError> {
    let start_body = match &plan.start {
        Some(Start::Synthesized { steps, .. }) => Some(start_body(cx, plan, steps)?),
        _ => None,
    };

    // The custom sections are merged, and the head and the data headers
    // built, while the bodies are sized.
    // DWARF is rewritten as soon as every body's place is known.
    let renumber = plan.renumber.as_deref();
    let bodies = chunks.as_ref().map(|bodies| Bodies { bodies, renumber });
    let n_bodies = plan.funcs.len() as u32 + start_body.is_some() as u32;
    let (merged, (built, sized)) = rayon::join(
        || merge_customs(cx, plan, strip_debug),
        || match &bodies {
            Some(b) => {
                let (built, sized) = rayon::join(
                    || head_and_data(cx, plan),
                    || {
                        let (order, sizes) = order_and_sizes(plan, b);
                        let dwarf = debug.map(|_| {
                            let map =
                                CodeMap::new(cx.modules, plan, b.bodies, &order, leb_len(n_bodies as u64));
                            let dwarf = crate::fuse::debug::dwarf::keep(cx, plan, &map);
                            (map, dwarf)
                        });
                        (order, sizes, dwarf)
                    },
                );
                (built, Some(sized))
            }
            None => (head_and_data(cx, plan), None),
        },
    );
    let (customs, mut warnings) = merged?;
    let (head, data_headers, data_len) = built?;
    let data_total = if plan.data.is_empty() {
        0
    } else {
        1 + leb_len(data_len as u64) + data_len
    };
    fn parts<'p>(
        head: &'p [u8],
        customs: &'p [&'p [u8]],
        data_headers: &'p [Vec<u8>],
        (data_len, data_total): (usize, usize),
        start_body: Option<&'p [u8]>,
        n_bodies: u32,
    ) -> Parts<'p> {
        Parts {
            head,
            customs,
            data_headers,
            data_len,
            data_total,
            start_body,
            n_bodies,
        }
    }
    let data = (data_len, data_total);

    let Some((bodies, (order, sizes, dwarf))) = bodies.zip(sized) else {
        if debug.is_some() {
            return Err(FuseError::Inconsistent {
                what: "debug information is kept only from bodies rewritten up front",
            });
        }
        let pieces = [customs.as_slice()];
        let parts = parts(
            head.as_slice(),
            &pieces,
            &data_headers,
            data,
            start_body.as_deref(),
            n_bodies,
        );
        return Ok(Emitted {
            bytes: streamed(cx, plan, &parts, checks)?.into(),
            warnings,
            staged: None,
            debug: None,
        });
    };
    // Debug information, once every body's place is known: it goes last.
    let debug = match (debug, dwarf) {
        (Some(maps), Some((mut map, dwarf))) => {
            let code_len = leb_len(n_bodies as u64)
                + sizes.iter().sum::<usize>()
                + start_body
                    .as_ref()
                    .map_or(0, |b| leb_len(b.len() as u64) + b.len());
            map.set_out_code((head.len() + 1 + leb_len(code_len as u64)) as u64);
            let mut d = crate::fuse::debug::finish(cx, plan, &map, maps, dwarf?)?;
            warnings.append(&mut d.warnings);
            Some(d)
        }
        _ => None,
    };
    // The merged custom sections, then the debug sections, piece by piece.
    let mut pieces: Vec<&[u8]> = vec![customs.as_slice()];
    if let Some(d) = &debug {
        pieces.extend(d.sections.iter().map(Vec::as_slice));
    }
    let parts = parts(
        head.as_slice(),
        &pieces,
        &data_headers,
        data,
        start_body.as_deref(),
        n_bodies,
    );
    let (bytes, staged) = presized(cx, plan, &parts, &bodies, &order, &sizes, target)?;
    Ok(Emitted {
        bytes,
        warnings,
        staged,
        debug,
    })
}

/// Which bodies go out, in output order (`plan.body_order`, else the kept
/// ones in index order), and each one's size with its size prefix.
fn order_and_sizes(plan: &Plan<'_>, bodies: &Bodies<'_>) -> (Vec<u32>, Vec<usize>) {
    let order: Vec<u32> = match &plan.body_order {
        Some(order) => order.clone(),
        None => (0..bodies.bodies.len() as u32)
            .filter(|&i| plan.kept.as_ref().is_none_or(|k| k[i as usize]))
            .collect(),
    };
    let sizes = bodies.sizes(&order);
    (order, sizes)
}

/// Everything of the module but the function bodies, built before either
/// way of writing it.
struct Parts<'p> {
    /// The sections before the code section.
    head: &'p [u8],
    /// The merged custom sections, which go last, in pieces.
    customs: &'p [&'p [u8]],
    /// The data section's segment headers, one per segment.
    data_headers: &'p [Vec<u8>],
    /// The data section's contents' length.
    data_len: usize,
    /// The whole data section's length (0 when there is none).
    data_total: usize,
    /// The synthesized start's body, without its size.
    start_body: Option<&'p [u8]>,
    /// How many bodies the code section holds, the start's included.
    n_bodies: u32,
}

impl Parts<'_> {
    /// The custom sections' length.
    fn customs_len(&self) -> usize {
        self.customs.iter().map(|c| c.len()).sum()
    }

    /// Writes the data section, piece by piece (small headers, borrowed
    /// contents), into whatever `put` writes to.
    fn data_section(&self, cx: &FuseCx<'_, '_>, plan: &Plan<'_>, put: &mut dyn FnMut(&[u8])) {
        if !plan.data.is_empty() {
            let mut prefix = vec![11];
            (self.data_len as u32).encode(&mut prefix);
            (plan.data_starts.len() as u32).encode(&mut prefix);
            put(&prefix);
            for (out, h) in self.data_headers.iter().enumerate() {
                put(h);
                let members = plan.data_segment(out);
                let Some(run) = &plan.data_runs[out] else {
                    let seg = members[0];
                    put(cx.modules[seg.input.as_usize()].data[seg.index as usize].data);
                    continue;
                };
                // A coalesced run: the members at their places, zeros between.
                const ZEROS: [u8; 64] = [0; 64];
                let mut at = 0u64;
                for (seg, &place) in members.iter().zip(&run.at) {
                    let mut gap = place - at;
                    while gap > 0 {
                        let n = gap.min(ZEROS.len() as u64);
                        put(&ZEROS[..n as usize]);
                        gap -= n;
                    }
                    let bytes = cx.modules[seg.input.as_usize()].data[seg.index as usize].data;
                    put(bytes);
                    at = place + bytes.len() as u64;
                }
            }
        }
    }
}

/// Writes the module with bodies rewritten here, a window of pieces at a
/// time, so only that window of rewritten bodies is alive at once. One
/// allocation, sized from the inputs with room for rewriting's growth (see
/// `rewritten_capacity`), filled in order; the code section's size goes
/// into a 5-byte (padded) LEB, patched last.
fn streamed(
    cx: &FuseCx<'_, '_>,
    plan: &Plan<'_>,
    parts: &Parts<'_>,
    checks: Option<&[FuncCheck]>,
) -> Result<Vec<u8>, FuseError> {
    let modules = cx.modules;
    let input_code: usize = plan
        .funcs
        .iter()
        .map(|&(k, d)| modules[k.as_usize()].bodies[d as usize].as_bytes().len() + 5)
        .sum();
    let mut out = Vec::with_capacity(
        parts.head.len() + 16 + rewritten_capacity(input_code) + parts.data_total + parts.customs_len(),
    );
    out.extend_from_slice(parts.head);
    if parts.n_bodies > 0 {
        out.push(10);
        let size_at = out.len();
        out.extend_from_slice(&[0x80, 0x80, 0x80, 0x80, 0x00]);
        parts.n_bodies.encode(&mut out);
        let identities: Vec<_> = plan.maps.iter().map(|m| m.remap().identity()).collect();
        // A window of pieces (see `pieces`) at a time.
        let pieces = pieces(modules, &plan.funcs);
        let window = 2 * rayon::current_num_threads().max(1);
        for group in pieces.chunks(window) {
            let chunks = group
                .par_iter()
                .map(|r| {
                    rewrite_chunk(
                        cx,
                        plan,
                        &identities,
                        checks,
                        &plan.funcs[r.clone()],
                        Lists::default(),
                    )
                })
                .collect::<Result<Vec<_>, _>>()?;
            for chunk in chunks {
                for j in 0..chunk.len() {
                    let b = chunk.body(j);
                    (b.bytes.len() as u32).encode(&mut out);
                    out.extend_from_slice(b.bytes);
                }
            }
        }
        if let Some(b) = parts.start_body {
            (b.len() as u32).encode(&mut out);
            out.extend_from_slice(b);
        }
        let len = out.len() - size_at - 5;
        let len = u32::try_from(len).map_err(|_| FuseError::OutputTooLarge { part: "code section" })?;
        out[size_at..size_at + 5].copy_from_slice(&padded_leb(len));
    }
    parts.data_section(cx, plan, &mut |b| out.extend_from_slice(b));
    for c in parts.customs {
        out.extend_from_slice(c);
    }
    Ok(out)
}

/// Writes the module with its bodies rewritten already: every size is
/// known, so the output is one allocation of its exact size (zeroed lazily
/// by the system, so the threads that fill it are the ones that touch its
/// pages), and the bodies are written into it in parallel, each piece into
/// its own slice. Returns the bytes, and where they were staged (see
/// [`Emitted::staged`]).
fn presized(
    cx: &FuseCx<'_, '_>,
    plan: &Plan<'_>,
    parts: &Parts<'_>,
    bodies: &Bodies<'_>,
    order: &[u32],
    sizes: &[usize],
    target: Option<&Path>,
) -> Result<(Output, Option<Result<Staged, WriteError>>), FuseError> {
    let Parts {
        head,
        customs,
        data_total,
        n_bodies,
        ..
    } = *parts;
    // The synthesized start's body, with its size, goes last.
    let mut start_piece = Vec::new();
    if let Some(b) = parts.start_body {
        (b.len() as u32).encode(&mut start_piece);
        start_piece.extend_from_slice(b);
    }
    let start_len = start_piece.len();
    let code_len = leb_len(n_bodies as u64) + sizes.iter().sum::<usize>() + start_len;
    u32::try_from(code_len).map_err(|_| FuseError::OutputTooLarge { part: "code section" })?;
    let code_total = if n_bodies > 0 {
        1 + leb_len(code_len as u64) + code_len
    } else {
        0
    };
    let total = head.len() + code_total + data_total + parts.customs_len();
    // Built in the output file where it can be mapped, else in memory.
    let (mut mapped, unmade) = match target.map(|p| MappedOutput::new(p, total)) {
        Some(Ok(m)) => (m, None),
        Some(Err(e)) => (None, Some(e)),
        None => (None, None),
    };
    let mut owned = Vec::new();
    let out = match &mut mapped {
        Some(m) => m.bytes_mut(),
        None => {
            owned = vec![0u8; total];
            &mut owned[..]
        }
    };
    let (head_out, rest) = out.split_at_mut(head.len());
    let (code_out, rest) = rest.split_at_mut(code_total);
    let (data_out, customs_out) = rest.split_at_mut(data_total);
    // The bodies in parallel; the rest of the file is copied meanwhile.
    let mut small = Vec::new();
    let (prefix_out, code_out) = code_out.split_at_mut(if n_bodies > 0 {
        small.push(10);
        (code_len as u32).encode(&mut small);
        n_bodies.encode(&mut small);
        small.len()
    } else {
        0
    });
    let (bodies_out, start_out) = code_out.split_at_mut(code_out.len() - start_len);
    rayon::join(
        || bodies.write(order, sizes, bodies_out),
        || {
            head_out.copy_from_slice(head);
            prefix_out.copy_from_slice(&small);
            start_out.copy_from_slice(&start_piece);
            let mut at = 0;
            parts.data_section(cx, plan, &mut |bytes| {
                data_out[at..at + bytes.len()].copy_from_slice(bytes);
                at += bytes.len();
            });
            let mut at = 0;
            for c in customs {
                customs_out[at..at + c.len()].copy_from_slice(c);
                at += c.len();
            }
        },
    );
    Ok(match mapped {
        Some(m) => {
            let (bytes, file) = m.finish();
            (bytes, Some(Ok(file)))
        }
        None => (owned.into(), unmade.map(Err)),
    })
}

/// The emitted module.
pub(crate) struct Emitted {
    /// Its bytes.
    pub bytes: Output,
    /// Warnings for the user.
    pub warnings: Vec<String>,
    /// Where the bytes were built in the output's temporary file: that
    /// file, or the error met making it (`None`: the caller writes them).
    pub staged: Option<Result<Staged, WriteError>>,
    /// The debug information kept, when it was asked for.
    pub debug: Option<DebugOut>,
}

/// Everything before the code section, and the data section's segment
/// headers (small; the contents are borrowed) with the section's length:
/// the sections up to the start, the element section and the data headers
/// are built side by side (a split program has thousands of segments).
fn head_and_data(cx: &FuseCx<'_, '_>, plan: &Plan<'_>) -> Result<(Module, Vec<Vec<u8>>, usize), FuseError> {
    let ((head, elements), data) = rayon::join(
        || rayon::join(|| head_to_start(cx, plan), || element_section(cx, plan)),
        || data_headers(cx, plan),
    );
    let (mut head, elements, (data_headers, data_len)) = (head?, elements?, data?);
    if !elements.is_empty() {
        head.section(&elements);
    }
    let modules = cx.modules;
    let needs_count = modules.iter().any(|m| m.data_count.is_some()) || plan.data.iter().any(|s| s.deferred);
    if needs_count && !plan.data.is_empty() {
        head.section(&DataCountSection {
            count: plan.data_starts.len() as u32,
        });
    }
    Ok((head, data_headers, data_len))
}

/// The sections from the types to the start.
fn head_to_start(cx: &FuseCx<'_, '_>, plan: &Plan<'_>) -> Result<Module, FuseError> {
    let FuseCx { files, modules, .. } = *cx;
    let mut head = Module::new();
    head.section(&plan.types.section);
    let mut imports = ImportSection::new();
    for imp in &plan.imports {
        imports.import(&imp.module, &imp.name, imp.ty);
    }
    if !imports.is_empty() {
        head.section(&imports);
    }
    let mut functions = FunctionSection::new();
    for &(k, d) in &plan.funcs {
        let m = modules[k.as_usize()];
        let ty = m.func_types[(m.imported.funcs + d) as usize];
        functions.function(plan.maps[k.as_usize()].types[ty.as_usize()].0);
    }
    if let Some(Start::Synthesized { ty, .. }) = &plan.start {
        functions.function(ty.0);
    }
    if !functions.is_empty() {
        head.section(&functions);
    }
    let mut tables = TableSection::new();
    if let Some(merged) = &plan.merged_tables {
        tables.table(merged.ty);
    }
    for &(k, d) in plan.tables.iter().filter(|_| plan.merged_tables.is_none()) {
        let t = &modules[k.as_usize()].tables[d as usize];
        let mut remap = plan.maps[k.as_usize()].remap();
        let ty = remap
            .table_type(t.ty)
            .map_err(|e| malformed(files[k.as_usize()], "table", e.into()))?;
        match &t.init {
            TableInit::RefNull => tables.table(ty),
            TableInit::Expr(e) => {
                let e = const_expr(cx, plan, k.as_usize(), e)?;
                tables.table_with_init(ty, &e)
            }
        };
    }
    if !tables.is_empty() {
        head.section(&tables);
    }
    let mut memories = MemorySection::new();
    if let Some(merged) = &plan.merged {
        memories.memory(merged.ty);
    }
    for &(k, d) in plan.memories.iter().filter(|_| plan.merged.is_none()) {
        let mut remap = plan.maps[k.as_usize()].remap();
        let ty = remap
            .memory_type(modules[k.as_usize()].memories[d as usize])
            .map_err(|e| malformed(files[k.as_usize()], "memory", e.into()))?;
        memories.memory(ty);
    }
    if !memories.is_empty() {
        head.section(&memories);
    }
    let mut tags = TagSection::new();
    for &(k, d) in &plan.tags {
        let t = modules[k.as_usize()].tags[d as usize];
        let ty = plan.maps[k.as_usize()]
            .types
            .get(t.func_type_idx as usize)
            .ok_or_else(|| {
                let m = modules[k.as_usize()];
                let tag = m.imported.tags + d;
                FuseError::malformed(
                    files[k.as_usize()],
                    format!("tag {tag}"),
                    m.section_start(13),
                    "type out of range",
                )
            })?;
        tags.tag(TagType {
            kind: TagKind::Exception,
            func_type_idx: ty.0,
        });
    }
    if !tags.is_empty() {
        head.section(&tags);
    }
    let mut globals = GlobalSection::new();
    for &(k, d) in &plan.globals {
        let g = &modules[k.as_usize()].globals[d as usize];
        let file = files[k.as_usize()];
        let mut remap = plan.maps[k.as_usize()].remap();
        let ty = remap
            .global_type(g.ty)
            .map_err(|e| malformed(file, "global", e.into()))?;
        let init = const_expr(cx, plan, k.as_usize(), &g.init_expr)?;
        globals.global(ty, &init);
    }
    if !globals.is_empty() {
        head.section(&globals);
    }
    let start = match &plan.start {
        Some(Start::Existing(f)) => Some(f.0),
        Some(Start::Synthesized { func, .. }) => Some(func.0),
        None => None,
    };
    let mut exports = ExportSection::new();
    for e in &plan.exports {
        let index = match e.kind {
            ExternalKind::Memory => plan.memory(e.index),
            ExternalKind::Table => plan.table(e.index),
            _ => e.index,
        };
        exports.export(&e.name, ExportKind::from(e.kind), index);
    }
    if let (Some(name), Some(f)) = (&plan.start_export, start) {
        exports.export(name, ExportKind::Func, f);
    }
    if !exports.is_empty() {
        head.section(&exports);
    }
    if let (None, Some(f)) = (&plan.start_export, start) {
        head.section(&StartSection { function_index: f });
    }
    Ok(head)
}

/// The data section's segment headers (the contents are borrowed) and the
/// section's length.
fn data_headers(cx: &FuseCx<'_, '_>, plan: &Plan<'_>) -> Result<(Vec<Vec<u8>>, usize), FuseError> {
    let FuseCx { files, modules, .. } = *cx;
    let mut data_headers: Vec<Vec<u8>> = Vec::with_capacity(plan.data_starts.len());
    let mut data_len = leb_len(plan.data_starts.len() as u64);
    for (out, run) in plan.data_runs.iter().enumerate() {
        let mut h = Vec::new();
        if let Some(run) = run {
            let memory = plan.memory(run.memory);
            if memory == 0 {
                h.push(0);
            } else {
                h.push(2);
                memory.encode(&mut h);
            }
            let start = run.start + plan.memory_base(run.memory);
            let offset = match run.memory64 {
                true => ConstExpr::i64_const(start as i64),
                false => ConstExpr::i32_const(start as u32 as i32),
            };
            offset.encode(&mut h);
            u32::try_from(run.len)
                .map_err(|_| FuseError::OutputTooLarge { part: "data segment" })?
                .encode(&mut h);
            data_len += h.len() + run.len as usize;
            data_headers.push(h);
            continue;
        }
        let seg = plan.data_segment(out)[0];
        let k = seg.input.as_usize();
        let d = &modules[k].data[seg.index as usize];
        match &d.kind {
            DataKind::Active {
                memory_index,
                offset_expr,
            } if !seg.deferred => {
                let mem = plan.maps[k].memories.get(*memory_index as usize).ok_or_else(|| {
                    let at = offset_expr.get_binary_reader().original_position();
                    FuseError::malformed(files[k], format!("data {}", seg.index), at, "memory out of range")
                })?;
                let off = rebased_offset(cx, plan, k, plan.merged_memory_base(mem.0), offset_expr)?;
                let memory = plan.memory(mem.0);
                if memory == 0 {
                    h.push(0);
                } else {
                    h.push(2);
                    memory.encode(&mut h);
                }
                off.encode(&mut h);
            }
            _ => h.push(1),
        }
        (d.data.len() as u32).encode(&mut h);
        data_len += h.len() + d.data.len();
        data_headers.push(h);
    }
    Ok((data_headers, data_len))
}

/// The rewritten bodies, to be written in some order with their function
/// references patched.
struct Bodies<'c> {
    bodies: &'c Rewritten,
    renumber: Option<&'c [weld_format::FuncIdx]>,
}

impl Bodies<'_> {
    /// Body `i` among the chunks' bodies, or the `unreachable` stub.
    fn body(&self, i: u32) -> Body<'_> {
        // No locals, `unreachable`, `end`.
        const STUB: Body<'static> = Body {
            bytes: &[0x00, 0x00, 0x0b],
            refs: &[],
            tables: &[],
            shifts: &[],
        };
        match i {
            EMPTY => STUB,
            i => self.bodies.body(i as usize),
        }
    }

    /// The size of each piece of [`CHUNK`] bodies of `order`, written with
    /// their size LEBs, in parallel.
    fn sizes(&self, order: &[u32]) -> Vec<usize> {
        order
            .par_chunks(CHUNK)
            .map(|piece| {
                piece
                    .iter()
                    .map(|&i| {
                        let len = self.body(i).patched_len(self.renumber);
                        leb_len(len as u64) + len
                    })
                    .sum()
            })
            .collect()
    }

    /// Writes the bodies of `order` into `out` (exactly the sum of
    /// `sizes`), each piece into its own slice, in parallel.
    fn write(&self, order: &[u32], sizes: &[usize], out: &mut [u8]) {
        let mut rest = out;
        let mut slices = Vec::with_capacity(sizes.len());
        for &size in sizes {
            let (piece, tail) = rest.split_at_mut(size);
            slices.push(piece);
            rest = tail;
        }
        // Straight into the output: each body's size, then the body.
        order.par_chunks(CHUNK).zip(slices).for_each(|(piece, slice)| {
            let mut at = 0;
            for &i in piece {
                let b = self.body(i);
                let len = b.patched_len(self.renumber);
                at += put_leb(&mut slice[at..], len as u32);
                b.write_patched(self.renumber, &mut slice[at..at + len]);
                at += len;
            }
        });
    }
}

/// A u32 as a 5-byte LEB128 (valid, not minimal), for sizes patched later.
fn padded_leb(x: u32) -> [u8; 5] {
    [
        (x as u8 & 0x7f) | 0x80,
        ((x >> 7) as u8 & 0x7f) | 0x80,
        ((x >> 14) as u8 & 0x7f) | 0x80,
        ((x >> 21) as u8 & 0x7f) | 0x80,
        (x >> 28) as u8 & 0x0f,
    ]
}

/// Members of a coalesced element run per parallel task.
const RUN_PIECE: usize = 512;

fn element_section(cx: &FuseCx<'_, '_>, plan: &Plan<'_>) -> Result<ElementSection, FuseError> {
    let FuseCx { files, modules, .. } = *cx;
    let mut section = ElementSection::new();
    for out in 0..plan.elem_starts.len() {
        let parts = plan.elem_segment(out);
        let Some(seg) = parts.first() else {
            continue;
        };
        let k = seg.input.as_usize();
        let e = &modules[k].elements[seg.index as usize];
        let file = files[k];
        let item = || format!("elem {}", seg.index);
        let mut remap = plan.maps[k].remap();
        // A declarative segment only declares: a function removed as
        // unreachable is left out of it.
        let declared = matches!(e.kind, ElementKind::Declared);
        // A segment's functions (input indices), remapped.
        let mut remapped = |raw: &mut dyn Iterator<Item = Result<u32, FuseError>>| {
            let mut fs = Vec::with_capacity(raw.size_hint().0);
            for f in raw {
                let out = remap
                    .function_index(f?)
                    .map_err(|e| malformed(file, item(), e.into()))?;
                if !(declared && out == REMOVED) {
                    fs.push(out);
                }
            }
            Ok::<_, FuseError>(Elements::Functions(Cow::Owned(fs)))
        };
        let elements = if parts.len() == 1 {
            // A funcref segment of `ref.func` items only is written in the
            // function-index form: the same segment, two bytes an item less.
            let lone: Option<Vec<u32>> = match &e.items {
                ElementItems::Expressions(ty, r) if *ty == wasmparser::RefType::FUNCREF => r
                    .clone()
                    .into_iter()
                    .map(|x| x.ok().and_then(|x| lone_ref_func(&x)))
                    .collect(),
                _ => None,
            };
            match (&e.items, lone) {
                (_, Some(raw)) => remapped(&mut raw.into_iter().map(Ok))?,
                (ElementItems::Functions(r), None) => remapped(
                    &mut r
                        .clone()
                        .into_iter()
                        .map(|f| f.map_err(|e| malformed(file, item(), e.into()))),
                )?,
                (ElementItems::Expressions(ty, r), None) => {
                    let ty = remap
                        .ref_type(*ty)
                        .map_err(|e| malformed(file, item(), e.into()))?;
                    let mut es = Vec::with_capacity(r.count() as usize);
                    for x in r.clone() {
                        let x = x.map_err(|e| malformed(file, item(), e.into()))?;
                        if declared && names_removed(plan, k, &x) {
                            continue;
                        }
                        es.push(const_expr(cx, plan, k, &x)?);
                    }
                    Elements::Expressions(ty, Cow::Owned(es))
                }
            }
        } else {
            // A coalesced run (function segments only, see
            // [`coalesce`](crate::fuse::plan::coalesce)): every member's functions, a
            // piece of members per task.
            let pieces = parts
                .par_chunks(RUN_PIECE)
                .map(|piece| {
                    let mut fs = Vec::with_capacity(piece.len());
                    for part in piece {
                        run_functions(cx, plan, part, &mut fs)?;
                    }
                    Ok(fs)
                })
                .collect::<Vec<_>>()
                // The first error in segment order.
                .into_iter()
                .collect::<Result<Vec<_>, FuseError>>()?;
            Elements::Functions(Cow::Owned(pieces.concat()))
        };
        let offset: ConstExpr;
        let mode = match &e.kind {
            ElementKind::Active {
                table_index,
                offset_expr,
            } if !seg.deferred => {
                let t = remap
                    .table_index(table_index.unwrap_or(0))
                    .map_err(|e| malformed(file, item(), e.into()))?;
                offset = rebased_offset(cx, plan, k, plan.merged_table_base(t), offset_expr)?;
                ElementMode::Active {
                    table: Some(plan.table(t)),
                    offset: &offset,
                }
            }
            ElementKind::Declared => ElementMode::Declared,
            _ => ElementMode::Passive,
        };
        section.segment(ElementSegment { mode, elements });
    }
    if !plan.declare.is_empty() {
        section.segment(ElementSegment {
            mode: ElementMode::Declared,
            elements: Elements::Functions(Cow::Borrowed(&plan.declare)),
        });
    }
    Ok(section)
}

/// Appends the functions of `seg`, a member of a coalesced run (all its
/// items are functions, see [`coalesce`](crate::fuse::plan::coalesce)), remapped; any
/// other item is an error, never dropped.
fn run_functions(
    cx: &FuseCx<'_, '_>,
    plan: &Plan<'_>,
    seg: &Segment,
    fs: &mut Vec<u32>,
) -> Result<(), FuseError> {
    let k = seg.input.as_usize();
    let file = cx.files[k];
    let e = &cx.modules[k].elements[seg.index as usize];
    let bad = |e: RewriteError| malformed(file, format!("elem {}", seg.index), e);
    let mut remap = plan.maps[k].remap();
    let mut push = |f: u32| {
        fs.push(remap.function_index(f).map_err(|e| bad(e.into()))?);
        Ok::<_, FuseError>(())
    };
    match &e.items {
        ElementItems::Functions(r) => {
            for f in r.clone() {
                push(f.map_err(|e| bad(e.into()))?)?;
            }
        }
        ElementItems::Expressions(_, r) => {
            for x in r.clone() {
                let x = x.map_err(|e| bad(e.into()))?;
                push(
                    lone_ref_func(&x)
                        .ok_or_else(|| bad(RewriteError::Encode("not a function item".into())))?,
                )?;
            }
        }
    }
    Ok(())
}

/// Whether a constant expression of input `k` names a removed function.
fn names_removed(plan: &Plan<'_>, k: usize, e: &wasmparser::ConstExpr<'_>) -> bool {
    e.get_operators_reader().into_iter().any(|op| {
        matches!(op, Ok(wasmparser::Operator::RefFunc { function_index })
            if plan.maps[k].funcs.get(function_index as usize).is_some_and(|f| f.0 == REMOVED))
    })
}

/// The synthesized start: deferred segment initialisations and the inputs'
/// start calls, in instantiation order.
fn start_body(cx: &FuseCx<'_, '_>, plan: &Plan<'_>, steps: &[StartStep]) -> Result<Vec<u8>, FuseError> {
    let FuseCx { files, modules, .. } = *cx;
    let mut code = Vec::new();
    for step in steps {
        match *step {
            StartStep::InitElem(out) => {
                let seg = plan.elem_segment(out.as_usize())[0];
                let k = seg.input.as_usize();
                let e = &modules[k].elements[seg.index as usize];
                let ElementKind::Active {
                    table_index,
                    offset_expr,
                } = &e.kind
                else {
                    continue;
                };
                let mut remap = plan.maps[k].remap();
                let table = remap
                    .table_index(table_index.unwrap_or(0))
                    .map_err(|x| malformed(files[k], "elem", x.into()))?;
                let off = rebased_offset(cx, plan, k, plan.merged_table_base(table), offset_expr)?;
                let table = plan.table(table);
                let n = match &e.items {
                    ElementItems::Functions(r) => r.count(),
                    ElementItems::Expressions(_, r) => r.count(),
                };
                const_expr_body(&off, &mut code);
                wasm_encoder::Instruction::I32Const(0).encode(&mut code);
                wasm_encoder::Instruction::I32Const(n as i32).encode(&mut code);
                wasm_encoder::Instruction::TableInit {
                    elem_index: out.0,
                    table,
                }
                .encode(&mut code);
                wasm_encoder::Instruction::ElemDrop(out.0).encode(&mut code);
            }
            StartStep::InitData(out) => {
                let seg = plan.data_segment(out.as_usize())[0];
                let k = seg.input.as_usize();
                let d = &modules[k].data[seg.index as usize];
                let DataKind::Active {
                    memory_index,
                    offset_expr,
                } = &d.kind
                else {
                    continue;
                };
                let mut remap = plan.maps[k].remap();
                let mem = remap
                    .memory_index(*memory_index)
                    .map_err(|x| malformed(files[k], "data", x.into()))?;
                let off = rebased_offset(cx, plan, k, plan.merged_memory_base(mem), offset_expr)?;
                let mem = plan.memory(mem);
                const_expr_body(&off, &mut code);
                wasm_encoder::Instruction::I32Const(0).encode(&mut code);
                wasm_encoder::Instruction::I32Const(d.data.len() as i32).encode(&mut code);
                wasm_encoder::Instruction::MemoryInit {
                    mem,
                    data_index: out.0,
                }
                .encode(&mut code);
                wasm_encoder::Instruction::DataDrop(out.0).encode(&mut code);
            }
            StartStep::Call(func) => wasm_encoder::Instruction::Call(func.0).encode(&mut code),
        }
    }
    // A body: no locals, the steps, `end`.
    let mut body = Vec::with_capacity(code.len() + 2);
    body.push(0);
    body.extend_from_slice(&code);
    body.push(0x0b);
    Ok(body)
}

/// A segment's offset, moved by `base` when its memory or table was
/// merged (`Some`: the plan checked the offset is then a constant).
fn rebased_offset(
    cx: &FuseCx<'_, '_>,
    plan: &Plan<'_>,
    k: usize,
    base: Option<u64>,
    expr: &wasmparser::ConstExpr<'_>,
) -> Result<ConstExpr, FuseError> {
    let Some(base) = base else {
        return const_expr(cx, plan, k, expr);
    };
    let at = crate::fuse::plan::coalesce_data::offset(cx, plan, k, expr).ok_or(FuseError::Inconsistent {
        what: "a merged memory's or table's segment has no constant offset",
    })?;
    Ok(ConstExpr::i32_const((at + base) as u32 as i32))
}

/// The instructions of a constant expression, without its `end`.
fn const_expr_body(e: &ConstExpr, out: &mut Vec<u8>) {
    let mut bytes = Vec::new();
    e.encode(&mut bytes);
    bytes.pop(); // `end`
    out.extend_from_slice(&bytes);
}

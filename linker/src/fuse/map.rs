//! The link map (`weld fuse --map`): the finished plan + the output's
//! bytes → [`LinkMap`], where every item of every input went, which
//! functions were folded, removed or emptied, and where the output's
//! bytes went ([`ByteReport`]).
//!
//! A report only: it reads the plan and the output and decides nothing.
//! Each input's index lists are its [`SpaceMaps`], one list per space, as
//! raw indices ([`InputMap::new`]). Cost: O(items) for the maps; the byte
//! report reads only section and body headers of the output.

use super::code::leb_len;
use super::context::FuseCx;
use super::plan::{Plan, SpaceMaps, EMPTY, REMOVED};

/// Where every item of every input went.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LinkMap {
    /// Inputs in instantiation order.
    pub order: Vec<String>,
    /// Per input (in command-line order).
    pub inputs: Vec<InputMap>,
    /// Functions folded by identical code folding.
    pub folded: Vec<FoldReport>,
    /// Functions removed because nothing reaches them (their entry in
    /// `inputs[..].funcs` is `null`), in input order.
    pub removed: Vec<RemovedReport>,
    /// Functions kept only for their table slot: no indirect call of their
    /// type reaches that table, so their body is `unreachable`.
    pub emptied: Vec<RemovedReport>,
    /// How the defined functions are ordered: `by use` (most used first,
    /// for the shortest indices) or `planned` (input order).
    pub func_order: &'static str,
    /// Where the output's bytes went.
    pub bytes: ByteReport,
    /// Segments in the inputs and in the output (adjacent active segments
    /// are written as one).
    pub segments: SegmentCounts,
}

/// How many segments the inputs have and the output writes.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct SegmentCounts {
    /// Data segments of every input.
    pub data_in: usize,
    /// Data segments of the output.
    pub data_out: usize,
    /// Element segments of every input.
    pub elems_in: usize,
    /// Element segments of the output.
    pub elems_out: usize,
}

/// Where the output's bytes went: per section, and per input.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ByteReport {
    /// Each section in order: its name (`custom:NAME` for a custom
    /// section) and size, header included.
    pub sections: Vec<(String, usize)>,
    /// Per input (command-line order): its function bodies and data
    /// segments in the output, headers included.
    pub inputs: Vec<InputBytes>,
}

/// One input's share of the output.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct InputBytes {
    /// The input's name.
    pub name: String,
    /// Its function bodies (with their size LEBs).
    pub code: usize,
    /// Its data segments.
    pub data: usize,
}

/// One removed (or emptied) function.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RemovedReport {
    /// The input's name.
    pub input: String,
    /// The function's index in that input.
    pub func: u32,
}

/// One folded function.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FoldReport {
    /// The input's name.
    pub input: String,
    /// The function's index in that input.
    pub func: u32,
    /// The output function it was folded into.
    pub into: u32,
}

/// One input's old → new maps.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InputMap {
    /// The input's name.
    pub name: String,
    /// Types.
    pub types: Vec<u32>,
    /// Functions (`None`: removed, nothing reaches it).
    pub funcs: Vec<Option<u32>>,
    /// Tables.
    pub tables: Vec<u32>,
    /// With `--merge-tables`: where each table starts in the merged one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub table_bases: Vec<u64>,
    /// Memories.
    pub memories: Vec<u32>,
    /// With `--merge-memories`: where each memory starts in the merged one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub memory_bases: Vec<u64>,
    /// Globals.
    pub globals: Vec<u32>,
    /// Tags.
    pub tags: Vec<u32>,
    /// Element segments.
    pub elems: Vec<u32>,
    /// Data segments.
    pub data: Vec<u32>,
    /// Its debug information: whether DWARF and a source map were kept,
    /// their sizes in and out, the ranges tombstoned (absent when weld
    /// kept no debug information: `--strip-debug`, or no input had any).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub debug: Option<crate::fuse::debug::DebugReport>,
}

impl InputMap {
    /// The map of input `name`, from its plan maps: every space's list as
    /// raw indices, a removed function as `None`. The destructuring is
    /// exhaustive, so a space added to [`SpaceMaps`] fails to compile here
    /// until the link map shows it.
    pub(crate) fn new(name: &str, maps: &SpaceMaps) -> InputMap {
        let SpaceMaps {
            types,
            funcs,
            tables,
            memories,
            globals,
            tags,
            elems,
            data,
        } = maps;
        InputMap {
            name: name.to_string(),
            types: types.iter().map(|x| x.raw()).collect(),
            funcs: funcs
                .iter()
                .map(|x| (x.raw() != REMOVED).then_some(x.raw()))
                .collect(),
            tables: tables.iter().map(|x| x.raw()).collect(),
            table_bases: Vec::new(),
            memories: memories.iter().map(|x| x.raw()).collect(),
            memory_bases: Vec::new(),
            globals: globals.iter().map(|x| x.raw()).collect(),
            tags: tags.iter().map(|x| x.raw()).collect(),
            elems: elems.iter().map(|x| x.raw()).collect(),
            data: data.iter().map(|x| x.raw()).collect(),
            debug: None,
        }
    }
}

/// The link map of the run `cx` planned as `plan` and emitted as `out`;
/// `keep_order` says whether the functions were kept in input order.
pub(crate) fn link_map(cx: &FuseCx<'_, '_>, plan: &Plan<'_>, keep_order: bool, out: &[u8]) -> LinkMap {
    let names = cx.names;
    let removed = plan
        .maps
        .iter()
        .zip(names)
        .flat_map(|(m, n)| {
            m.funcs
                .iter()
                .enumerate()
                .filter(|(_, f)| f.0 == REMOVED)
                .map(|(i, _)| RemovedReport {
                    input: n.to_string(),
                    func: i as u32,
                })
        })
        .collect();
    let emptied = plan
        .body_order
        .iter()
        .flatten()
        .enumerate()
        .filter(|(_, &b)| b == EMPTY)
        .map(|(p, _)| {
            let (k, d) = plan.funcs[p];
            RemovedReport {
                input: names[k.as_usize()].to_string(),
                func: cx.modules[k.as_usize()].imported.funcs + d,
            }
        })
        .collect();
    LinkMap {
        removed,
        emptied,
        bytes: byte_report(cx, out, plan),
        segments: SegmentCounts {
            data_in: plan.data.len(),
            data_out: plan.data_starts.len(),
            elems_in: plan.elems.len(),
            elems_out: plan.elem_starts.len(),
        },
        func_order: if keep_order || plan.body_order.is_none() {
            "planned"
        } else {
            "by use"
        },
        order: plan
            .order
            .iter()
            .map(|k| names[k.as_usize()].to_string())
            .collect(),
        inputs: plan
            .maps
            .iter()
            .zip(names)
            .map(|(m, n)| {
                let mut im = InputMap::new(n, m);
                if plan.merged.is_some() {
                    im.memory_bases = im.memories.iter().map(|&x| plan.memory_base(x)).collect();
                    im.memories.iter_mut().for_each(|x| *x = plan.memory(*x));
                }
                if plan.merged_tables.is_some() {
                    im.table_bases = im.tables.iter().map(|&x| plan.table_base(x)).collect();
                    im.tables.iter_mut().for_each(|x| *x = plan.table(*x));
                }
                im
            })
            .collect(),
        // A fold into a function removed after is a removal (listed there).
        folded: plan
            .folds
            .iter()
            .filter(|f| f.into.0 != REMOVED)
            .map(|f| FoldReport {
                input: names[f.input.as_usize()].to_string(),
                func: f.func.0,
                into: f.into.0,
            })
            .collect(),
    }
}

/// Where the bytes of `out` (the plan's output) went. Reads only section
/// and body headers.
fn byte_report(cx: &FuseCx<'_, '_>, out: &[u8], plan: &Plan<'_>) -> ByteReport {
    let names = cx.names;
    let mut r = ByteReport {
        sections: Vec::new(),
        inputs: names
            .iter()
            .map(|n| InputBytes {
                name: n.to_string(),
                ..Default::default()
            })
            .collect(),
    };
    let mut last = 8usize;
    let mut body = 0usize;
    for payload in wasmparser::Parser::new(0).parse_all(out) {
        let Ok(payload) = payload else { break };
        use wasmparser::Payload as P;
        match &payload {
            P::CodeSectionEntry(b) => {
                let range = b.range();
                let len = (range.end - range.start) as usize;
                // The body and its size LEB.
                let size = len + leb_len(len as u64);
                if let Some(&(k, _)) = plan.funcs.get(body) {
                    r.inputs[k.as_usize()].code += size;
                }
                body += 1;
            }
            P::DataSection(s) => {
                // A coalesced segment: each member's bytes to its input,
                // the header and the zeros between members to the first's.
                for (out, d) in s.clone().into_iter_with_offsets().enumerate() {
                    let (Ok((at, d)), Some(_)) = (d, plan.data_starts.get(out)) else {
                        continue;
                    };
                    let members = plan.data_segment(out);
                    let mut rest = (d.range.end - at) as usize;
                    for seg in &members[1..] {
                        let len = cx.modules[seg.input.as_usize()].data[seg.index as usize]
                            .data
                            .len();
                        r.inputs[seg.input.as_usize()].data += len;
                        rest -= len;
                    }
                    r.inputs[members[0].input.as_usize()].data += rest;
                }
            }
            _ => {}
        }
        if let Some((id, range)) = payload.as_section() {
            let name = match &payload {
                P::CustomSection(c) => format!("custom:{}", c.name()),
                _ => weld_format::sections::module_section_name(id).to_string(),
            };
            let end = range.end as usize;
            r.sections.push((name, end - last));
            last = end;
        }
    }
    r
}

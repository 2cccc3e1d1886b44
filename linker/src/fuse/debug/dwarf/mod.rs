//! DWARF through fuse: every input's `.debug_*` sections become one set,
//! with every code address moved to the output's ([`Tx`]), every Wasm
//! global renumbered, and every offset between sections rewritten.
//!
//! In order: each input's sections are read with gimli and its units
//! listed, the largest input first; the strings of all inputs are merged
//! ([`strings`]); the sections that are patched in place are copied,
//! input after input. Then each unit is one parallel task: its line
//! program moved and re-encoded ([`line::rewrite`]), one pass over its entries that
//! patches its copy and collects what it refers to ([`units::rewrite`]),
//! and its range and location lists patched in place (DWARF 4) or written
//! anew ([`lists`]). Last, one after another: the line programs and list
//! pieces are concatenated, the fields that point into them written
//! ([`units::fix`]), and the small sections that hold addresses or offsets
//! of their own (`.debug_addr`, `.debug_str_offsets`, `.debug_aranges`,
//! the name tables) patched.

pub(crate) mod expr;
pub(crate) mod line;
pub(crate) mod lists;
pub(crate) mod strings;
pub(crate) mod units;

use gimli::read::Reader as _;
use gimli::write::EndianVec;
use gimli::{EndianSlice, LittleEndian};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use weld_format::survey::Custom;
use weld_format::{GlobalIdx, Item};

use crate::error::FuseError;
use crate::fuse::context::FuseCx;
use crate::fuse::debug::addrs::CodeMap;
use crate::fuse::debug::{push_custom, DebugReport};
use crate::fuse::plan::Plan;

use lists::ListsOut;
use strings::Strings;

/// gimli's reader over an input's mapped bytes.
pub type Reader<'a> = EndianSlice<'a, LittleEndian>;

/// A problem with an input's DWARF: the section, the offset in it, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// The section (`.debug_info`).
    pub section: &'static str,
    /// The offset in it.
    pub offset: u64,
    /// Why.
    pub reason: String,
}

impl Fault {
    /// A problem at `offset` of `section`.
    pub fn new(section: &'static str, offset: u64, reason: impl Into<String>) -> Fault {
        Fault {
            section,
            offset,
            reason: reason.into(),
        }
    }

    /// gimli's error reading `section` at (or after) `offset`.
    pub fn gimli(section: &'static str, offset: u64, e: gimli::Error) -> Fault {
        Fault::new(section, offset, e.to_string())
    }
}

/// How one input's addresses and indices move: what every stage here
/// translates through.
#[derive(Debug, Clone, Copy)]
pub struct Tx<'c> {
    /// The code addresses.
    pub code: &'c CodeMap<'c>,
    /// The input.
    pub k: usize,
    /// Its global index → the output's.
    pub globals: &'c [GlobalIdx],
    /// Where its memory 0 starts in the output's memory 0: a data address
    /// (`DW_OP_addr`, `DW_OP_addrx`) moves by it. Non-zero only once
    /// memories are merged.
    pub data_base: u64,
}

/// The DWARF sections weld rewrites; others are left out with a warning.
const KEPT: &[&str] = &[
    ".debug_abbrev",
    ".debug_info",
    ".debug_str",
    ".debug_line_str",
    ".debug_line",
    ".debug_ranges",
    ".debug_loc",
    ".debug_rnglists",
    ".debug_loclists",
    ".debug_addr",
    ".debug_str_offsets",
    ".debug_aranges",
    ".debug_pubnames",
    ".debug_pubtypes",
    ".debug_gnu_pubnames",
    ".debug_gnu_pubtypes",
    ".debug_macinfo",
];

/// One input's DWARF, read.
struct Loaded<'a> {
    k: usize,
    sections: FxHashMap<&'a str, Custom<'a>>,
    dwarf: gimli::Dwarf<Reader<'a>>,
    units: Vec<gimli::UnitHeader<Reader<'a>>>,
    size: u64,
}

impl<'a> Loaded<'a> {
    fn bytes(&self, name: &str) -> &'a [u8] {
        self.sections.get(name).map_or(&[], |c| c.data)
    }
}

/// The fused module's DWARF.
#[derive(Debug, Default)]
pub struct DwarfOut {
    /// The sections, encoded, in pieces (see [`push_custom`]).
    pub sections: Vec<Vec<u8>>,
    /// Per input (by `InputId`).
    pub reports: Vec<DebugReport>,
    /// Things the user should know.
    pub warnings: Vec<String>,
}

/// A fault of input `k`, as the error fuse returns.
fn error(cx: &FuseCx<'_, '_>, k: usize, f: Fault) -> FuseError {
    let m = cx.modules[k];
    let base = m
        .customs
        .iter()
        .find(|c| c.name == f.section)
        .map_or(0, |c| c.data_offset);
    FuseError::malformed(
        cx.files[k],
        Item::Part(format!("custom section `{}`", f.section)),
        base + f.offset,
        f.reason,
    )
}

/// Reads input `k`'s DWARF, if it has any; warns about what is left out.
fn load<'a>(cx: &FuseCx<'_, 'a>, k: usize, warnings: &mut Vec<String>) -> Result<Option<Loaded<'a>>, Fault> {
    let m = cx.modules[k];
    let mut sections = FxHashMap::default();
    let mut size = 0;
    for c in &m.customs {
        if !c.name.starts_with(".debug_") {
            continue;
        }
        size += c.data.len() as u64;
        if c.name == ".debug_types" {
            return Err(Fault::new(
                ".debug_types",
                0,
                "type units in `.debug_types` are not supported",
            ));
        }
        if !KEPT.contains(&c.name) {
            warnings.push(format!(
                "{}: dropped debug section `{}` (weld does not rewrite it)",
                cx.files[k], c.name
            ));
            continue;
        }
        if sections.insert(c.name, *c).is_some() {
            return Err(Fault::new(
                KEPT[KEPT.iter().position(|n| *n == c.name).unwrap_or(0)],
                0,
                "a second section of this name",
            ));
        }
    }
    if !sections.contains_key(".debug_info") {
        if !sections.is_empty() {
            warnings.push(format!(
                "{}: dropped DWARF sections without `.debug_info`",
                cx.files[k]
            ));
        }
        return Ok(None);
    }
    let dwarf = gimli::Dwarf::load(|id| -> Result<Reader<'a>, ()> {
        Ok(EndianSlice::new(
            sections.get(id.name()).map_or(&[][..], |c: &Custom<'a>| c.data),
            LittleEndian,
        ))
    })
    .unwrap_or_default();
    let mut units = Vec::new();
    let mut iter = dwarf.units();
    let mut at = 0u64;
    while let Some(h) = iter.next().map_err(|e| Fault::gimli(".debug_info", at, e))? {
        let o = info_offset(&h, at);
        if h.format() != gimli::Format::Dwarf32 {
            return Err(Fault::new(".debug_info", o, "64-bit DWARF is not supported"));
        }
        if !matches!(h.address_size(), 4 | 8) {
            return Err(Fault::new(
                ".debug_info",
                o,
                format!("address size {} is not 4 or 8", h.address_size()),
            ));
        }
        at = o + h.length_including_self() as u64;
        units.push(h);
    }
    Ok(Some(Loaded {
        k,
        sections,
        dwarf,
        units,
        size,
    }))
}

/// Where a unit of `.debug_info` starts (`or`: for one elsewhere).
fn info_offset(h: &gimli::UnitHeader<Reader<'_>>, or: u64) -> u64 {
    h.offset().to_debug_info_offset(h).map_or(or, |o| o.0 as u64)
}

/// One unit's work, done.
struct Work<'a> {
    /// Index into the loaded inputs.
    li: usize,
    at: u64,
    unit: gimli::Unit<Reader<'a>>,
    done: units::Rewritten,
    line: Option<line::LineOut>,
    ranges: ListsOut,
    locs: ListsOut,
}

/// The fused module's DWARF sections, from every input's.
pub fn keep(cx: &FuseCx<'_, '_>, plan: &Plan<'_>, code: &CodeMap<'_>) -> Result<DwarfOut, FuseError> {
    let mut out = DwarfOut {
        reports: vec![DebugReport::default(); cx.modules.len()],
        ..DwarfOut::default()
    };
    // A split-DWARF reference is kept as it is: the first input's (the
    // output can name one file only).
    let mut external = false;
    for &k in &plan.order {
        let k = k.as_usize();
        if let Some(c) = cx.modules[k]
            .customs
            .iter()
            .find(|c| c.name == "external_debug_info")
        {
            out.warnings.push(if external {
                format!("{}: dropped its split-DWARF reference `external_debug_info` (the output keeps the first input's only)", cx.files[k])
            } else {
                format!(
                    "{}: kept its split-DWARF reference `external_debug_info` as is (the file it names describes the input's code addresses, not the output's)",
                    cx.files[k]
                )
            });
            if !external {
                push_custom(&mut out.sections, "external_debug_info", c.data.to_vec());
                external = true;
            }
        }
    }
    let mut loaded = Vec::new();
    for &k in &plan.order {
        let k = k.as_usize();
        if let Some(l) = load(cx, k, &mut out.warnings).map_err(|f| error(cx, k, f))? {
            loaded.push(l);
        }
    }
    if loaded.is_empty() {
        return Ok(out);
    }
    // The largest input's sections go first: its units, abbreviations and
    // (without duplicates) strings keep their offsets, so the fields that
    // hold them need no visit (see `units::Same`). Ties keep their order.
    loaded.sort_by_key(|l| std::cmp::Reverse(l.size));
    let txs: Vec<Tx<'_>> = loaded
        .iter()
        .map(|l| Tx {
            code,
            k: l.k,
            globals: &plan.maps[l.k].globals,
            data_base: plan.maps[l.k]
                .memories
                .first()
                .map_or(0, |m| plan.memory_base(m.0)),
        })
        .collect();
    let strings = Strings::build(
        cx.modules.len(),
        &loaded
            .iter()
            .map(|l| (l.k, l.bytes(".debug_str"), l.bytes(".debug_line_str")))
            .collect::<Vec<_>>(),
    )
    .map_err(|(k, f)| error(cx, k, f))?;

    // Each input's place in the concatenated sections.
    let concat = |name: &str| -> (Vec<u8>, Vec<u64>) {
        let mut bytes = Vec::new();
        let bases = loaded
            .iter()
            .map(|l| {
                let b = bytes.len() as u64;
                bytes.extend_from_slice(l.bytes(name));
                b
            })
            .collect();
        (bytes, bases)
    };
    let (abbrev, abbrev_at) = concat(".debug_abbrev");
    let (mut info, info_at) = concat(".debug_info");
    let (mut addr, addr_at) = concat(".debug_addr");
    let (mut str_offsets, str_offsets_at) = concat(".debug_str_offsets");
    let (macinfo, macinfo_at) = concat(".debug_macinfo");
    // What moves nothing, per input.
    let same: Vec<(bool, bool, bool)> = loaded
        .iter()
        .zip(&txs)
        .map(|(l, tx)| {
            // (Expressions are read for their globals and data addresses.)
            let globals = tx.data_base == 0
                && plan.maps[l.k]
                    .globals
                    .iter()
                    .enumerate()
                    .all(|(i, g)| g.0 as usize == i);
            (strings.same_str(l.k), strings.same_line_str(l.k), globals)
        })
        .collect();

    // Per unit, in parallel, in one pass over its entries: its line
    // program, its copy in the output patched, its lists.
    let jobs: Vec<(usize, usize)> = loaded
        .iter()
        .enumerate()
        .flat_map(|(li, l)| (0..l.units.len()).map(move |u| (li, u)))
        .collect();
    let mut slices: Vec<&mut [u8]> = Vec::with_capacity(jobs.len());
    {
        let mut rest: &mut [u8] = &mut info;
        let mut consumed = 0u64;
        for &(li, u) in &jobs {
            let h = &loaded[li].units[u];
            let start = info_at[li] + info_offset(h, 0);
            let len = h.length_including_self() as u64;
            let (_, tail) = rest.split_at_mut((start - consumed) as usize);
            let (mine, tail) = tail.split_at_mut(len as usize);
            slices.push(mine);
            rest = tail;
            consumed = start + len;
        }
    }
    let work: Vec<Work<'_>> = jobs
        .par_iter()
        .zip(slices.into_par_iter())
        .map(|(&(li, u), bytes)| {
            let l = &loaded[li];
            let tx = &txs[li];
            let h = l.units[u];
            let at = info_offset(&h, 0);
            let with_k = |f: Fault| (l.k, f);
            let abbrev = l.bytes(".debug_abbrev").len();
            if h.debug_abbrev_offset().0 >= abbrev {
                return Err(with_k(Fault::new(
                    ".debug_info",
                    at,
                    format!(
                        "the unit's abbreviations, at offset {:#x} of `.debug_abbrev`, are missing (that section has {abbrev} bytes)",
                        h.debug_abbrev_offset().0
                    ),
                )));
            }
            let unit = l
                .dwarf
                .unit(h)
                .map_err(|e| with_k(Fault::gimli(".debug_info", at, e)))?;
            if !matches!(unit.header.version(), 2..=5) {
                return Err(with_k(Fault::new(
                    ".debug_info",
                    at,
                    format!("unknown DWARF version {}", unit.header.version()),
                )));
            }
            let line = match unit.line_program.clone() {
                Some(p) => {
                    let o = p.header().offset().0 as u64;
                    Some(line::rewrite(tx, &strings, p, o).map_err(with_k)?)
                }
                None => None,
            };
            let files = line.as_ref().map(|l| l.files.as_slice());
            let moves = units::Moves {
                abbrev: abbrev_at[li],
                info: info_at[li],
                str_offsets: str_offsets_at[li],
                addr: addr_at[li],
                macinfo: macinfo_at[li],
                strings: &strings,
                files,
                same: units::Same {
                    str: same[li].0,
                    line_str: same[li].1,
                    globals: same[li].2,
                    files: files.is_none_or(|f| f.iter().enumerate().all(|(i, &f)| f == i as u64)),
                    info: info_at[li] == 0,
                },
            };
            let done = units::rewrite(tx, &l.dwarf, &unit, at, &moves, bytes).map_err(with_k)?;
            let needs = &done.needs;
            let ranges = match lists::patch_v4(tx, &l.dwarf, &unit, &needs.ranges, false, same[li].2)
                .map_err(with_k)?
            {
                Some(r) => r,
                None => {
                    lists::ranges(tx, &l.dwarf, &unit, &needs.ranges, &needs.ranges_indexed).map_err(with_k)?
                }
            };
            let locs = match lists::patch_v4(tx, &l.dwarf, &unit, &needs.locs, true, same[li].2).map_err(with_k)? {
                Some(r) => r,
                None => lists::locations(tx, &l.dwarf, &unit, &needs.locs, &needs.locs_indexed).map_err(with_k)?,
            };
            Ok(Work {
                li,
                at,
                unit,
                done,
                line,
                ranges,
                locs,
            })
        })
        .collect::<Result<_, (usize, Fault)>>()
        .map_err(|(k, f)| error(cx, k, f))?;
    let mut strings = strings;
    // Line programs name `.debug_str` inline (see `line`): gimli's table
    // for it stays empty.
    let mut unused = gimli::write::StringTable::default();

    // The line programs, one after another.
    let mut debug_line = gimli::write::DebugLine(EndianVec::new(LittleEndian));
    let mut line_at: Vec<Option<u64>> = Vec::with_capacity(work.len());
    for w in &work {
        line_at.push(match &w.line {
            Some(line::LineOut { bytes: Some(b), .. }) => {
                let o = gimli::write::Writer::len(&debug_line.0) as u64;
                let _ = gimli::write::Writer::write(&mut debug_line.0, b);
                Some(o)
            }
            Some(line::LineOut { program: Some(p), .. }) => {
                let o = p
                    .write(&mut debug_line, p.encoding(), &mut strings.line_str, &mut unused)
                    .map_err(|e| error(cx, loaded[w.li].k, Fault::new(".debug_line", 0, e.to_string())))?;
                Some(o.0 as u64)
            }
            _ => None,
        });
    }
    let debug_line = debug_line.0.into_vec();

    // The lists: DWARF 4 sections copied and patched in place, then the
    // pieces written anew, concatenated: where each unit's piece starts.
    let (mut ranges4, ranges4_at) = concat(".debug_ranges");
    let (mut locs4, locs4_at) = concat(".debug_loc");
    let mut ranges5 = Vec::new();
    let mut locs5 = Vec::new();
    let mut piece_at = Vec::with_capacity(work.len());
    for w in &work {
        let v5 = w.unit.header.version() >= 5;
        let (r, l) = if v5 {
            (&mut ranges5, &mut locs5)
        } else {
            (&mut ranges4, &mut locs4)
        };
        let at = |out: &mut Vec<u8>, lists: &ListsOut, input_at: u64| match &lists.in_place {
            Some(p) => {
                for &(pos, v) in &p.fields {
                    let i = (input_at + pos as u64) as usize;
                    out[i..i + 4].copy_from_slice(&v.to_le_bytes());
                }
                for (pos, bytes) in &p.exprs {
                    let i = (input_at + *pos as u64) as usize;
                    out[i..i + bytes.len()].copy_from_slice(bytes);
                }
                input_at
            }
            None => {
                let b = out.len() as u64;
                out.extend_from_slice(&lists.bytes);
                b
            }
        };
        let ra = at(r, &w.ranges, ranges4_at[w.li]);
        let la = at(l, &w.locs, locs4_at[w.li]);
        piece_at.push((ra, la));
    }

    // The fields that waited for the line programs and the lists.
    for (i, w) in work.iter().enumerate() {
        let start = (info_at[w.li] + w.at) as usize;
        let len = w.unit.header.length_including_self();
        units::fix(
            &mut info[start..start + len],
            &w.done.fixups,
            w.unit.encoding().format.word_size(),
            line_at[i],
            (&w.ranges, piece_at[i].0),
            (&w.locs, piece_at[i].1),
        )
        .map_err(|mut f| {
            f.offset += w.at;
            error(cx, loaded[w.li].k, f)
        })?;
    }
    let tombstoned: Vec<u64> = work.iter().map(|w| w.done.tombstoned).collect();

    // `.debug_addr`: the code addresses the units named by index, each
    // moved from the input's value (an entry several entries name is
    // moved once, the same way each time).
    for w in &work {
        let l = &loaded[w.li];
        let tx = &txs[w.li];
        let asz = w.unit.encoding().address_size as usize;
        let input = l.bytes(".debug_addr");
        let base = w.unit.addr_base.0 as u64;
        let data = w.done.needs.data_addrx.iter().map(|&i| (i, true));
        for (index, is_data) in w.done.needs.addrx.iter().map(|&i| (i, false)).chain(data) {
            let at = (base + index * asz as u64) as usize;
            let (Some(old), Some(field)) = (
                input.get(at..at + asz),
                addr.get_mut(addr_at[w.li] as usize + at..addr_at[w.li] as usize + at + asz),
            ) else {
                return Err(error(
                    cx,
                    l.k,
                    Fault::new(
                        ".debug_addr",
                        at as u64,
                        format!("address index {index} is out of range"),
                    ),
                ));
            };
            let mut v = [0u8; 8];
            v[..asz].copy_from_slice(old);
            let a = u64::from_le_bytes(v);
            let tomb = !0u64 >> (64 - 8 * asz as u32);
            // 0 (a unit's base, or an address a producer gave up on) and
            // tombstones stay.
            if is_data {
                // A data address: moved by the input's memory base.
                if a < tomb - 1 && tx.data_base != 0 {
                    let new = a
                        .checked_add(tx.data_base)
                        .filter(|&n| n < tomb - 1)
                        .ok_or_else(|| {
                            error(
                                cx,
                                l.k,
                                Fault::new(
                                    ".debug_addr",
                                    at as u64,
                                    format!("data address {a:#x} moves past 32 bits"),
                                ),
                            )
                        })?;
                    field.copy_from_slice(&new.to_le_bytes()[..asz]);
                }
                continue;
            }
            if a == 0 || a >= tomb - 1 {
                continue;
            }
            let new = u32::try_from(a)
                .ok()
                .and_then(|a| tx.code.translate(tx.k, a, false).kept())
                .map_or(tomb, u64::from);
            field.copy_from_slice(&new.to_le_bytes()[..asz]);
        }
    }
    // `.debug_str_offsets`: every entry is a `.debug_str` offset.
    for (li, l) in loaded.iter().enumerate() {
        patch_str_offsets(
            &strings,
            l.k,
            l.bytes(".debug_str_offsets"),
            &mut str_offsets[str_offsets_at[li] as usize..],
        )
        .map_err(|f| error(cx, l.k, f))?;
    }
    // `.debug_aranges` and the name tables: their units' offsets, and the
    // aranges' code ranges.
    let mut aranges = Vec::new();
    let mut names: [Vec<u8>; 4] = Default::default();
    const NAMES: [&str; 4] = [
        ".debug_pubnames",
        ".debug_pubtypes",
        ".debug_gnu_pubnames",
        ".debug_gnu_pubtypes",
    ];
    for (li, l) in loaded.iter().enumerate() {
        let start = aranges.len();
        aranges.extend_from_slice(l.bytes(".debug_aranges"));
        patch_aranges(
            &txs[li],
            info_at[li],
            l.bytes(".debug_aranges"),
            &mut aranges[start..],
        )
        .map_err(|f| error(cx, l.k, f))?;
        for (n, name) in NAMES.iter().enumerate() {
            let start = names[n].len();
            names[n].extend_from_slice(l.bytes(name));
            patch_name_table(name, info_at[li], &mut names[n][start..]).map_err(|f| error(cx, l.k, f))?;
        }
    }
    let (debug_str, debug_line_str) = strings.write();

    // Reports.
    for (li, l) in loaded.iter().enumerate() {
        let r = &mut out.reports[l.k];
        r.dwarf_kept = true;
        r.dwarf_in = l.size;
        r.dwarf_out = [
            ".debug_abbrev",
            ".debug_info",
            ".debug_addr",
            ".debug_str_offsets",
            ".debug_aranges",
            ".debug_macinfo",
        ]
        .iter()
        .map(|n| l.bytes(n).len() as u64)
        .sum::<u64>()
            + NAMES.iter().map(|n| l.bytes(n).len() as u64).sum::<u64>();
        for (i, w) in work.iter().enumerate().filter(|(_, w)| w.li == li) {
            r.dwarf_out += w.ranges.bytes.len() as u64 + w.locs.bytes.len() as u64;
            r.tombstoned +=
                tombstoned[i] + w.ranges.dropped + w.locs.dropped + w.line.as_ref().map_or(0, |l| l.dropped);
            if w.done.needs.dwo {
                out.warnings.push(format!(
                    "{}: kept a split-DWARF reference (`DW_AT_dwo_name`) as is; the `.dwo` file still describes the input's code addresses",
                    cx.files[l.k]
                ));
            }
        }
        if li + 1 < loaded.len() {
            let next = line_at
                .iter()
                .zip(&work)
                .find(|(_, w)| w.li > li)
                .and_then(|(o, _)| *o);
            let first = line_at
                .iter()
                .zip(&work)
                .find(|(_, w)| w.li == li)
                .and_then(|(o, _)| *o);
            if let (Some(a), Some(b)) = (first, next) {
                r.dwarf_out += b - a;
            }
        } else if let Some(a) = line_at
            .iter()
            .zip(&work)
            .find(|(_, w)| w.li == li)
            .and_then(|(o, _)| *o)
        {
            r.dwarf_out += debug_line.len() as u64 - a;
        }
    }
    out.warnings.dedup();

    // The sections, in the order wasm-ld writes them.
    let sections: [(&str, Vec<u8>); 17] = [
        (".debug_abbrev", abbrev),
        (".debug_info", info),
        (".debug_rnglists", ranges5),
        (".debug_ranges", ranges4),
        (".debug_loclists", locs5),
        (".debug_loc", locs4),
        (".debug_str_offsets", str_offsets),
        (".debug_str", debug_str),
        (".debug_addr", addr),
        (".debug_line", debug_line),
        (".debug_line_str", debug_line_str),
        (".debug_aranges", aranges),
        (".debug_macinfo", macinfo),
        (NAMES[0], std::mem::take(&mut names[0])),
        (NAMES[1], std::mem::take(&mut names[1])),
        (NAMES[2], std::mem::take(&mut names[2])),
        (NAMES[3], std::mem::take(&mut names[3])),
    ];
    for (name, bytes) in sections {
        if bytes.is_empty() {
            continue;
        }
        if u32::try_from(bytes.len()).is_err() {
            return Err(FuseError::OutputTooLarge {
                part: "debug section",
            });
        }
        push_custom(&mut out.sections, name, bytes);
    }
    Ok(out)
}

/// Patches input `k`'s `.debug_str_offsets` (`input`; `out` starts at its
/// copy): every contribution's entries, as `.debug_str` offsets.
fn patch_str_offsets(strings: &Strings, k: usize, input: &[u8], out: &mut [u8]) -> Result<(), Fault> {
    const S: &str = ".debug_str_offsets";
    let whole = EndianSlice::new(input, LittleEndian);
    let mut r = whole;
    while !r.is_empty() {
        let at = r.offset_from(whole) as u64;
        let fault = |e| Fault::gimli(S, at, e);
        let (len, format) = r.read_initial_length().map_err(fault)?;
        let mut body = r.split(len).map_err(fault)?;
        let version = body.read_u16().map_err(fault)?;
        if version != 5 {
            return Err(Fault::new(S, at, format!("unknown version {version}")));
        }
        body.read_u16().map_err(fault)?;
        while !body.is_empty() {
            let pos = body.offset_from(whole);
            let old = body.read_offset(format).map_err(fault)? as u64;
            let new = strings.str_offset(k, old).ok_or_else(|| {
                Fault::new(
                    S,
                    pos as u64,
                    format!("string offset {old:#x} is outside `.debug_str`"),
                )
            })?;
            let w = format.word_size() as usize;
            out[pos..pos + w].copy_from_slice(&new.to_le_bytes()[..w]);
        }
    }
    Ok(())
}

/// Patches a copy of an input's `.debug_aranges`: each set's unit offset,
/// and each range moved (a range of code not kept becomes the tombstone
/// address with length 0).
fn patch_aranges(tx: &Tx<'_>, info_at: u64, input: &[u8], out: &mut [u8]) -> Result<(), Fault> {
    const S: &str = ".debug_aranges";
    let aranges = gimli::DebugAranges::new(input, LittleEndian);
    let mut headers = aranges.headers();
    let mut at = 0u64;
    while let Some(h) = headers.next().map_err(|e| Fault::gimli(S, at, e))? {
        let o = h.offset().0 as u64;
        at = o;
        let size = h.encoding().address_size as usize;
        // unit_length, version, then the unit's offset.
        let info = h.debug_info_offset().0 as u64 + info_at;
        out[o as usize + 6..o as usize + 10].copy_from_slice(&(info as u32).to_le_bytes());
        // The tuples start at the first multiple of their size after the
        // 12-byte header.
        let tuple = 2 * size;
        let first = o as usize + 12usize.div_ceil(tuple) * tuple;
        let mut entries = h.entries();
        let mut i = 0;
        while let Some(e) = entries.next().map_err(|e| Fault::gimli(S, o, e))? {
            let pos = first + i * tuple;
            i += 1;
            let (a, len) = (e.address(), e.length());
            if a == 0 || len == 0 {
                continue;
            }
            let (na, nl) = lists::move_range(tx, a, a + len)
                .map_or((!0u64 >> (64 - 8 * size as u32), 0), |(b, l)| {
                    (b as u64, l as u64)
                });
            if pos + tuple > out.len() {
                return Err(Fault::new(S, o, "set runs past the section"));
            }
            out[pos..pos + size].copy_from_slice(&na.to_le_bytes()[..size]);
            out[pos + size..pos + tuple].copy_from_slice(&nl.to_le_bytes()[..size]);
        }
    }
    Ok(())
}

/// Patches a copy of a name table (`.debug_pubnames` and the like): each
/// set's unit offset.
fn patch_name_table(name: &'static str, info_at: u64, out: &mut [u8]) -> Result<(), Fault> {
    let copy = out.to_vec();
    let whole = EndianSlice::new(&copy, LittleEndian);
    let mut r = whole;
    while !r.is_empty() {
        let at = r.offset_from(whole);
        let fault = |e| Fault::gimli(name, at as u64, e);
        let (len, format) = r.read_initial_length().map_err(fault)?;
        let mut body = r.split(len).map_err(fault)?;
        body.read_u16().map_err(fault)?;
        let pos = body.offset_from(whole);
        let old = body.read_offset(format).map_err(fault)? as u64;
        let w = format.word_size() as usize;
        out[pos..pos + w].copy_from_slice(&(old + info_at).to_le_bytes()[..w]);
    }
    Ok(())
}

//! `.debug_info`, one unit at a time, in one pass ([`rewrite`]): every
//! field that moves is patched in place in the output's copy of the unit,
//! and what the unit refers to outside it is collected (its lists, its
//! code addresses in `.debug_addr`). Fields whose new value depends on
//! other units (offsets into `.debug_line` and the list sections) are
//! left as [`Fixup`]s, written once those sections are ([`fix`]). Every
//! field patched has a fixed size (addresses, section offsets, data forms)
//! or is a LEB128 rewritten at its old length.

use gimli::read::{Attribute, AttributeValue};
use gimli::{constants as dw, DwForm};

use super::expr::{patch_expression, put_padded_leb};
use super::lists::{ListsOut, Mover};
use super::strings::Strings;
use super::{Fault, Reader, Tx};

/// What a unit refers to outside `.debug_info`.
#[derive(Debug, Default)]
pub struct Needs {
    /// Range lists, by offset (sorted, deduplicated).
    pub ranges: Vec<u64>,
    /// Range lists named by index: (index, offset).
    pub ranges_indexed: Vec<(u64, u64)>,
    /// Location lists, by offset.
    pub locs: Vec<u64>,
    /// Location lists named by index.
    pub locs_indexed: Vec<(u64, u64)>,
    /// Code addresses in `.debug_addr`, by index.
    pub addrx: Vec<u64>,
    /// Data addresses in `.debug_addr` (`DW_OP_addrx` in the unit's
    /// expressions), by index (sorted, deduplicated).
    pub data_addrx: Vec<u64>,
    /// Whether the unit refers to a split-DWARF object (`.dwo`).
    pub dwo: bool,
}

/// Whether attribute `name` holds a code address.
fn code_address(name: dw::DwAt) -> bool {
    matches!(
        name,
        dw::DW_AT_low_pc
            | dw::DW_AT_high_pc
            | dw::DW_AT_entry_pc
            | dw::DW_AT_call_return_pc
            | dw::DW_AT_call_pc
    )
}

/// Whether attribute `name` holds a DWARF expression (in a block form).
fn expression(name: dw::DwAt) -> bool {
    matches!(
        name,
        dw::DW_AT_location
            | dw::DW_AT_frame_base
            | dw::DW_AT_data_member_location
            | dw::DW_AT_vtable_elem_location
            | dw::DW_AT_use_location
            | dw::DW_AT_return_addr
            | dw::DW_AT_static_link
            | dw::DW_AT_string_length
            | dw::DW_AT_call_value
            | dw::DW_AT_call_target
            | dw::DW_AT_call_data_location
            | dw::DW_AT_call_data_value
            | dw::DW_AT_byte_size
            | dw::DW_AT_upper_bound
            | dw::DW_AT_lower_bound
            | dw::DW_AT_count
            | dw::DW_AT_data_location
            | dw::DW_AT_allocated
            | dw::DW_AT_associated
    )
}

/// Walks a unit's entries: `each` gets every entry's attributes, with
/// each one's byte range in the unit.
/// Entries whose abbreviation `wanted` refuses are skipped without
/// reading their attributes (the answer is kept per abbreviation).
fn walk(
    unit: &gimli::Unit<Reader<'_>>,
    at: u64,
    wanted: impl Fn(&gimli::read::AttributeSpecification) -> bool,
    mut each: impl FnMut(&[(Attribute<Reader<'_>>, usize, usize)]) -> Result<(), Fault>,
) -> Result<(), Fault> {
    let fault = |e| Fault::gimli(".debug_info", at, e);
    let mut entries = unit.entries_raw(None).map_err(fault)?;
    let mut attrs = Vec::new();
    // Per abbreviation code: 0 unknown, 1 skip, 2 read.
    let mut verdict: Vec<u8> = Vec::new();
    while !entries.is_empty() {
        let die = entries.next_offset().0 as u64;
        let fault = |e| Fault::gimli(".debug_info", at + die, e);
        let Some(abbrev) = entries.read_abbreviation().map_err(fault)? else {
            continue;
        };
        let code = abbrev.code() as usize;
        let v = match verdict.get(code) {
            Some(&v) if v != 0 => v,
            _ => {
                let v = if abbrev.attributes().iter().any(&wanted) {
                    2
                } else {
                    1
                };
                if code < 1 << 16 {
                    if verdict.len() <= code {
                        verdict.resize(code + 1, 0);
                    }
                    verdict[code] = v;
                }
                v
            }
        };
        if v == 1 {
            entries.skip_attributes(abbrev.attributes()).map_err(fault)?;
            continue;
        }
        attrs.clear();
        for spec in abbrev.attributes() {
            let start = entries.next_offset().0;
            let attr = entries.read_attribute(*spec).map_err(fault)?;
            attrs.push((attr, start, entries.next_offset().0));
        }
        each(&attrs).map_err(|mut f| {
            if f.offset == 0 {
                f.offset = at + die;
            }
            f
        })?;
    }
    Ok(())
}

/// Whether an attribute of this form may refer outside `.debug_info`
/// (what [`rewrite`] collects): section offsets (also `data4`/`data8`
/// before DWARF 4), list and address indices, split-DWARF names.
fn refers_out(spec: &gimli::read::AttributeSpecification) -> bool {
    match spec.form() {
        dw::DW_FORM_sec_offset
        | dw::DW_FORM_rnglistx
        | dw::DW_FORM_loclistx
        | dw::DW_FORM_addrx
        | dw::DW_FORM_addrx1
        | dw::DW_FORM_addrx2
        | dw::DW_FORM_addrx3
        | dw::DW_FORM_addrx4
        | dw::DW_FORM_GNU_addr_index => true,
        dw::DW_FORM_data4 | dw::DW_FORM_data8 => offset_in_data(spec.name()),
        _ => matches!(spec.name(), dw::DW_AT_dwo_name | dw::DW_AT_GNU_dwo_name),
    }
}

/// Whether attribute `name` may hold a section offset in a `data4` or
/// `data8` form (DWARF 2 and 3 had no `sec_offset`); gimli's reading of
/// the value tells, by version.
fn offset_in_data(name: dw::DwAt) -> bool {
    matches!(
        name,
        dw::DW_AT_stmt_list
            | dw::DW_AT_ranges
            | dw::DW_AT_start_scope
            | dw::DW_AT_location
            | dw::DW_AT_frame_base
            | dw::DW_AT_string_length
            | dw::DW_AT_return_addr
            | dw::DW_AT_data_member_location
            | dw::DW_AT_segment
            | dw::DW_AT_static_link
            | dw::DW_AT_use_location
            | dw::DW_AT_vtable_elem_location
            | dw::DW_AT_macro_info
    )
}

/// Where the unit's references go in the output.
#[derive(Debug)]
pub struct Moves<'m> {
    /// Added to offsets into `.debug_abbrev`.
    pub abbrev: u64,
    /// Added to `DW_FORM_ref_addr` offsets (into `.debug_info`).
    pub info: u64,
    /// Added to `DW_AT_str_offsets_base`.
    pub str_offsets: u64,
    /// Added to `DW_AT_addr_base`.
    pub addr: u64,
    /// Added to `DW_AT_macro_info`.
    pub macinfo: u64,
    /// The strings.
    pub strings: &'m Strings,
    /// The unit's file numbering (from its line program).
    pub files: Option<&'m [u64]>,
    /// What stays as it was, so its fields need no visit.
    pub same: Same,
}

/// A field whose new value is known only once every unit's line program
/// and lists are written: where it is in the unit, its form, what it holds.
#[derive(Debug, Clone, Copy)]
pub struct Fixup {
    /// Its bytes in the unit.
    pub start: u32,
    /// One past them.
    pub end: u32,
    /// Its form.
    pub form: DwForm,
    /// What it holds.
    pub what: Fix,
}

/// What a [`Fixup`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fix {
    /// The unit's line program's offset.
    Line,
    /// The offset of the range list at this input offset.
    Ranges(u64),
    /// The offset of the location list at this input offset.
    Locs(u64),
    /// Where the unit's range lists' offsets start.
    RangesBase,
    /// Where the unit's location lists' offsets start.
    LocsBase,
}

impl std::fmt::Display for Fix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fix::Line => f.write_str("the unit's line program"),
            Fix::Ranges(o) => write!(f, "the range list at {o:#x}"),
            Fix::Locs(o) => write!(f, "the location list at {o:#x}"),
            Fix::RangesBase => f.write_str("the unit's range lists"),
            Fix::LocsBase => f.write_str("the unit's location lists"),
        }
    }
}

/// What one pass over a unit found besides what it patched.
#[derive(Debug, Default)]
pub struct Rewritten {
    /// What it refers to outside `.debug_info`.
    pub needs: Needs,
    /// The fields left for later.
    pub fixups: Vec<Fixup>,
    /// Code addresses given the tombstone.
    pub tombstoned: u64,
}

/// Writes the fixed-up fields into the output's copy of the unit: its line
/// program at `line`, its lists' pieces `ranges` and `locs`, each with
/// where it starts in its section.
pub fn fix(
    bytes: &mut [u8],
    fixups: &[Fixup],
    word: u8,
    line: Option<u64>,
    ranges: (&ListsOut, u64),
    locs: (&ListsOut, u64),
) -> Result<(), Fault> {
    for f in fixups {
        let value = match f.what {
            Fix::Line => line,
            Fix::Ranges(old) => ranges.0.get(old).map(|n| ranges.1 + n),
            Fix::Locs(old) => locs.0.get(old).map(|n| locs.1 + n),
            Fix::RangesBase => Some(ranges.1 + ranges.0.base.unwrap_or(0)),
            Fix::LocsBase => Some(locs.1 + locs.0.base.unwrap_or(0)),
        };
        let fail = |reason: String| Fault::new(".debug_info", f.start as u64, reason);
        let value = value.ok_or_else(|| fail(format!("{} was not read", f.what)))?;
        put(&mut bytes[f.start as usize..f.end as usize], f.form, word, value).map_err(fail)?;
    }
    Ok(())
}

/// What moves nothing for a unit: fields of these kinds are left as they
/// are, and entries with nothing else to patch are skipped.
#[derive(Debug, Clone, Copy, Default)]
pub struct Same {
    /// `.debug_str` offsets.
    pub str: bool,
    /// `.debug_line_str` offsets.
    pub line_str: bool,
    /// Global indices.
    pub globals: bool,
    /// File numbers.
    pub files: bool,
    /// `.debug_info` offsets (the input's units come first).
    pub info: bool,
}

/// Whether [`rewrite`] must read attributes of this specification, given
/// what stays the same.
fn patched(same: Same, spec: &gimli::read::AttributeSpecification) -> bool {
    if refers_out(spec) {
        return true;
    }
    match spec.form() {
        dw::DW_FORM_addr | dw::DW_FORM_sec_offset => true,
        dw::DW_FORM_strp => !same.str,
        dw::DW_FORM_line_strp => !same.line_str,
        dw::DW_FORM_ref_addr => !same.info,
        dw::DW_FORM_exprloc => !same.globals,
        dw::DW_FORM_block | dw::DW_FORM_block1 | dw::DW_FORM_block2 | dw::DW_FORM_block4 => {
            !same.globals && expression(spec.name())
        }
        // Lengths of code ranges, file numbers, and offsets in the data
        // forms of DWARF 2 and 3.
        dw::DW_FORM_data1
        | dw::DW_FORM_data2
        | dw::DW_FORM_data4
        | dw::DW_FORM_data8
        | dw::DW_FORM_udata
        | dw::DW_FORM_implicit_const => match spec.name() {
            dw::DW_AT_high_pc => true,
            dw::DW_AT_decl_file | dw::DW_AT_call_file => !same.files,
            name => matches!(spec.form(), dw::DW_FORM_data4 | dw::DW_FORM_data8) && offset_in_data(name),
        },
        _ => false,
    }
}

/// Writes `x` into `out` in the fixed size of `form` (or as a LEB128 of
/// the old length).
fn put(out: &mut [u8], form: DwForm, size: u8, x: u64) -> Result<(), String> {
    let n = match form {
        dw::DW_FORM_data1 | dw::DW_FORM_ref1 | dw::DW_FORM_flag | dw::DW_FORM_strx1 | dw::DW_FORM_addrx1 => 1,
        dw::DW_FORM_data2 | dw::DW_FORM_ref2 | dw::DW_FORM_strx2 | dw::DW_FORM_addrx2 => 2,
        dw::DW_FORM_data4 | dw::DW_FORM_ref4 | dw::DW_FORM_strx4 | dw::DW_FORM_addrx4 => 4,
        dw::DW_FORM_data8 | dw::DW_FORM_ref8 | dw::DW_FORM_ref_sig8 => 8,
        dw::DW_FORM_udata => {
            return put_padded_leb(out, x)
                .ok_or_else(|| format!("{x:#x} does not fit its LEB128's old length"));
        }
        _ => size as usize,
    };
    if n > out.len() || (n < 8 && x >> (8 * n) != 0) {
        return Err(format!("{x:#x} does not fit its {n}-byte field"));
    }
    let at = out.len() - n;
    out[at..].copy_from_slice(&x.to_le_bytes()[..n]);
    Ok(())
}

/// The tombstone for a code address of a function not in the output:
/// all ones, as wasm-ld writes outside `.debug_ranges` and `.debug_loc`.
fn tombstone(size: u8) -> u64 {
    !0u64 >> (64 - 8 * size as u32)
}

/// Patches the unit in `bytes` (the output's copy of it; the unit read
/// from `at` in the input's `.debug_info`). Returns how many code
/// addresses got the tombstone.
pub fn rewrite(
    tx: &Tx<'_>,
    dwarf: &gimli::Dwarf<Reader<'_>>,
    unit: &gimli::Unit<Reader<'_>>,
    at: u64,
    m: &Moves<'_>,
    bytes: &mut [u8],
) -> Result<Rewritten, Fault> {
    let enc = unit.encoding();
    let word = enc.format.word_size();
    let asz = enc.address_size;
    // The header's abbreviation offset.
    let abbrev_at = if enc.version >= 5 { 8 } else { 6 };
    let old = unit.header.debug_abbrev_offset().0 as u64;
    bytes[abbrev_at..abbrev_at + 4].copy_from_slice(&((old + m.abbrev) as u32).to_le_bytes());
    let mut tombstoned = 0u64;
    let mut mover = Mover::new(*tx);
    let mut n = Needs::default();
    let mut n_data = Vec::new();
    let mut fixups = Vec::new();
    let same = m.same;
    walk(
        unit,
        at,
        |spec| patched(same, spec),
        |attrs| {
            // The entry's code range, when it has one: low_pc and high_pc.
            let mut low = None;
            let mut high = None;
            for (attr, ..) in attrs {
                match (attr.name(), attr.value()) {
                    (dw::DW_AT_low_pc, AttributeValue::Addr(a)) => low = Some(a),
                    (dw::DW_AT_low_pc, AttributeValue::DebugAddrIndex(i)) => {
                        low = dwarf.address(unit, i).ok()
                    }
                    (dw::DW_AT_high_pc, AttributeValue::Addr(a)) => high = Some(a),
                    (dw::DW_AT_high_pc, AttributeValue::Udata(n)) => high = low.map(|l| l + n),
                    (dw::DW_AT_high_pc, v) => high = v.udata_value().and_then(|n| low.map(|l| l + n)),
                    _ => {}
                }
            }
            let range = match (low, high) {
                (Some(l), Some(h)) => Some(mover.range(l, h)),
                _ => None,
            };
            for (attr, start, end) in attrs {
                let field = &mut bytes[*start..*end];
                let form = attr.form();
                let fail =
                    |reason: String| Fault::new(".debug_info", 0, format!("{}: {reason}", attr.name()));
                let mut later = |what| {
                    fixups.push(Fixup {
                        start: *start as u32,
                        end: *end as u32,
                        form,
                        what,
                    })
                };
                match (attr.name(), attr.value()) {
                    (name, AttributeValue::Addr(a)) if code_address(name) => {
                        // 0 (a unit's base, or code its producer left out: no
                        // function starts there) and tombstones stay.
                        if a == 0 || a >= tombstone(asz) - 1 {
                            continue;
                        }
                        let new = match (name, range) {
                            (dw::DW_AT_high_pc, Some(r)) => r.map(|(b, l)| b as u64 + l as u64),
                            (dw::DW_AT_low_pc, Some(r)) => r.map(|(b, _)| b as u64),
                            _ => mover.address(a).map(u64::from),
                        };
                        if new.is_none() {
                            tombstoned += 1;
                        }
                        put(field, form, asz, new.unwrap_or(tombstone(asz))).map_err(fail)?;
                    }
                    (dw::DW_AT_high_pc, v) if v.udata_value().is_some() && low.is_some_and(|l| l != 0) => {
                        let len = match range {
                            Some(Some((_, l))) => l as u64,
                            _ => 0,
                        };
                        put(field, form, asz, len).map_err(fail)?;
                    }
                    (_, AttributeValue::DebugStrRef(o)) if !same.str => {
                        let new = m.strings.str_offset(tx.k, o.0 as u64).ok_or_else(|| {
                            fail(format!("string offset {:#x} is outside `.debug_str`", o.0))
                        })?;
                        put(field, form, word, new).map_err(fail)?;
                    }
                    (_, AttributeValue::DebugLineStrRef(o)) if !same.line_str => {
                        let new = m.strings.line_str_offset(tx.k, o.0 as u64).ok_or_else(|| {
                            fail(format!("string offset {:#x} is outside `.debug_line_str`", o.0))
                        })?;
                        put(field, form, word, new).map_err(fail)?;
                    }
                    (_, AttributeValue::DebugLineRef(_)) => later(Fix::Line),
                    (_, AttributeValue::FileIndex(f)) if !same.files => {
                        if let Some(&new) = m.files.and_then(|files| files.get(f as usize)) {
                            put(field, form, word, new).map_err(fail)?;
                        }
                    }
                    (_, AttributeValue::RangeListsRef(o)) => {
                        let old = dwarf.ranges_offset_from_raw(unit, o).0 as u64;
                        n.ranges.push(old);
                        later(Fix::Ranges(old));
                    }
                    (_, AttributeValue::LocationListsRef(o)) => {
                        n.locs.push(o.0 as u64);
                        later(Fix::Locs(o.0 as u64));
                    }
                    (_, AttributeValue::DebugRngListsIndex(i)) => {
                        let o = dwarf.ranges_offset(unit, i).map_err(|e| fail(e.to_string()))?.0 as u64;
                        n.ranges.push(o);
                        n.ranges_indexed.push((i.0 as u64, o));
                    }
                    (_, AttributeValue::DebugLocListsIndex(i)) => {
                        let o = dwarf
                            .locations_offset(unit, i)
                            .map_err(|e| fail(e.to_string()))?
                            .0 as u64;
                        n.locs.push(o);
                        n.locs_indexed.push((i.0 as u64, o));
                    }
                    (name, AttributeValue::DebugAddrIndex(i)) if code_address(name) => {
                        n.addrx.push(i.0 as u64)
                    }
                    (dw::DW_AT_dwo_name | dw::DW_AT_GNU_dwo_name, _) => n.dwo = true,
                    (_, AttributeValue::DebugRngListsBase(_)) => later(Fix::RangesBase),
                    (_, AttributeValue::DebugLocListsBase(_)) => later(Fix::LocsBase),
                    (_, AttributeValue::DebugStrOffsetsBase(o)) => {
                        put(field, form, word, o.0 as u64 + m.str_offsets).map_err(fail)?
                    }
                    (_, AttributeValue::DebugAddrBase(o)) => {
                        put(field, form, word, o.0 as u64 + m.addr).map_err(fail)?
                    }
                    (_, AttributeValue::DebugMacinfoRef(o)) => {
                        put(field, form, word, o.0 as u64 + m.macinfo).map_err(fail)?
                    }
                    (_, AttributeValue::DebugInfoRef(o)) => {
                        put(field, form, word, o.0 as u64 + m.info).map_err(fail)?
                    }
                    (_, AttributeValue::Exprloc(e)) if !same.globals => {
                        let n = e.0.len();
                        let len = field.len();
                        patch_expression(tx, enc, &mut field[len - n..], Some(&mut n_data)).map_err(fail)?;
                    }
                    (name, AttributeValue::Block(b)) if expression(name) && !same.globals => {
                        let n = b.len();
                        let len = field.len();
                        patch_expression(tx, enc, &mut field[len - n..], Some(&mut n_data)).map_err(fail)?;
                    }
                    _ => {}
                }
            }
            Ok(())
        },
    )?;
    n.data_addrx = n_data;
    for v in [&mut n.ranges, &mut n.locs, &mut n.data_addrx] {
        v.sort_unstable();
        v.dedup();
    }
    Ok(Rewritten {
        needs: n,
        fixups,
        tombstoned,
    })
}

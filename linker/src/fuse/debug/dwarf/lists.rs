//! Range and location lists: each unit's lists read with gimli (bases and
//! address indices resolved), every range moved, and written anew into the
//! unit's own piece of `.debug_ranges`/`.debug_loc` (DWARF 4 and earlier)
//! or its own contribution to `.debug_rnglists`/`.debug_loclists` (DWARF
//! 5), since moved lengths and offsets change the entries' lengths.
//!
//! gimli reads the lists; its list writers are private to its unit writer,
//! so the entries are written with gimli's `Writer` and constants, in the
//! simplest forms: a start address and a length (`DW_RLE_start_length`,
//! `DW_LLE_start_length`), or for DWARF 4 an address pair after a base
//! address selection of 0. A range of a function not kept, or that would
//! run backwards once its ends are moved (ends in functions placed apart),
//! is left out and counted.

use gimli::write::{Address, EndianVec, Writer};
use gimli::{Encoding, LittleEndian, RangeListsOffset};

use super::expr::patch_expression;
use super::{Fault, Reader, Tx};

/// A unit's lists, written: its piece of the list section, and where each
/// list it referenced went (relative to the piece).
#[derive(Debug, Default)]
pub struct ListsOut {
    /// The bytes (empty when the unit has no lists).
    pub bytes: Vec<u8>,
    /// Input list offset → offset in `bytes`.
    pub moved: Vec<(u64, u64)>,
    /// For DWARF 5: where the offsets array starts in `bytes` (what the
    /// unit's `DW_AT_*lists_base` becomes, relative to the piece).
    pub base: Option<u64>,
    /// Ranges left out.
    pub dropped: u64,
}

impl ListsOut {
    /// Where input list offset `old` went, in the piece.
    pub fn get(&self, old: u64) -> Option<u64> {
        self.moved
            .binary_search_by_key(&old, |&(o, _)| o)
            .ok()
            .map(|i| self.moved[i].1)
    }
}

/// One list entry, moved: a start and a length, or the default location.
enum Entry<'e> {
    Range { begin: u32, len: u32, expr: Option<&'e [u8]> },
    Default { expr: &'e [u8] },
}

/// A range `begin..end` of input `tx.k`, moved, or `None` when it is not
/// in the output as one range.
pub fn move_range(tx: &Tx<'_>, begin: u64, end: u64) -> Option<(u32, u32)> {
    let (b, e) = (u32::try_from(begin).ok()?, u32::try_from(end).ok()?);
    if b == e {
        // An empty range: kept empty where its address is.
        let a = tx.code.translate(tx.k, b, false).kept()?;
        return Some((a, 0));
    }
    let nb = tx.code.translate(tx.k, b, false).kept()?;
    let ne = tx.code.translate(tx.k, e, true).kept()?;
    (ne >= nb).then(|| (nb, ne - nb))
}

/// The unit's range lists at `offsets` (sorted, deduplicated), and for
/// DWARF 5 the size of its offsets array (`indexed`: indices used by
/// `DW_FORM_rnglistx`, each with the list it names).
pub fn ranges(
    tx: &Tx<'_>,
    dwarf: &gimli::Dwarf<Reader<'_>>,
    unit: &gimli::Unit<Reader<'_>>,
    offsets: &[u64],
    indexed: &[(u64, u64)],
) -> Result<ListsOut, Fault> {
    let enc = unit.encoding();
    let section = if enc.version <= 4 { ".debug_ranges" } else { ".debug_rnglists" };
    let mut lists = Vec::with_capacity(offsets.len());
    let mut dropped = 0;
    for &o in offsets {
        let mut it = dwarf
            .ranges(unit, RangeListsOffset(o as usize))
            .map_err(|e| Fault::gimli(section, o, e))?;
        let mut entries = Vec::new();
        while let Some(r) = it.next().map_err(|e| Fault::gimli(section, o, e))? {
            match move_range(tx, r.begin, r.end) {
                Some((begin, len)) => entries.push(Entry::Range { begin, len, expr: None }),
                None => dropped += 1,
            }
        }
        lists.push((o, entries));
    }
    let mut out = write(enc, &lists, indexed, false);
    out.dropped = dropped;
    Ok(out)
}

/// The unit's location lists at `offsets`, like [`ranges`]; each
/// expression's Wasm global operands renumbered.
pub fn locations(
    tx: &Tx<'_>,
    dwarf: &gimli::Dwarf<Reader<'_>>,
    unit: &gimli::Unit<Reader<'_>>,
    offsets: &[u64],
    indexed: &[(u64, u64)],
) -> Result<ListsOut, Fault> {
    let enc = unit.encoding();
    let section = if enc.version <= 4 { ".debug_loc" } else { ".debug_loclists" };
    let mut exprs: Vec<Vec<u8>> = Vec::new();
    let mut raw = Vec::with_capacity(offsets.len());
    let mut dropped = 0;
    for &o in offsets {
        let mut it = dwarf
            .locations(unit, gimli::LocationListsOffset(o as usize))
            .map_err(|e| Fault::gimli(section, o, e))?;
        let mut entries = Vec::new();
        while let Some(l) = it.next().map_err(|e| Fault::gimli(section, o, e))? {
            let mut bytes = l.data.0.slice().to_vec();
            patch_expression(tx, enc, &mut bytes).map_err(|reason| Fault::new(section, o, reason))?;
            exprs.push(bytes);
            let e = exprs.len() - 1;
            if l.range.begin == 0 && l.range.end == u64::MAX {
                entries.push((None, e));
                continue;
            }
            match move_range(tx, l.range.begin, l.range.end) {
                Some(r) => entries.push((Some(r), e)),
                None => dropped += 1,
            }
        }
        raw.push((o, entries));
    }
    let lists: Vec<(u64, Vec<Entry<'_>>)> = raw
        .into_iter()
        .map(|(o, entries)| {
            let entries = entries
                .into_iter()
                .map(|(r, e)| match r {
                    Some((begin, len)) => Entry::Range {
                        begin,
                        len,
                        expr: Some(&exprs[e]),
                    },
                    None => Entry::Default { expr: &exprs[e] },
                })
                .collect();
            (o, entries)
        })
        .collect();
    let mut out = write(enc, &lists, indexed, true);
    out.dropped = dropped;
    Ok(out)
}

/// Writes the lists (`locs`: location lists, else range lists). Writing
/// into memory cannot fail, so gimli's results are dropped.
fn write(enc: Encoding, lists: &[(u64, Vec<Entry<'_>>)], indexed: &[(u64, u64)], locs: bool) -> ListsOut {
    let mut w = EndianVec::new(LittleEndian);
    let size = enc.address_size;
    let mut base = None;
    let mut table_at = 0;
    let n_index = indexed.iter().map(|&(i, _)| i + 1).max().unwrap_or(0);
    if enc.version >= 5 {
        // The contribution's header; its length is patched last.
        let _ = w.write_u32(0);
        let _ = w.write_u16(5);
        let _ = w.write_u8(size);
        let _ = w.write_u8(0);
        let _ = w.write_u32(n_index as u32);
        base = Some(w.len() as u64);
        table_at = w.len();
        for _ in 0..n_index {
            let _ = w.write_u32(0);
        }
    }
    let mut moved = Vec::with_capacity(lists.len());
    for (o, entries) in lists {
        moved.push((*o, w.len() as u64));
        if enc.version <= 4 {
            // A base address selection of 0: the pairs are addresses.
            let _ = w.write_udata(!0u64 >> (64 - size as u32 * 8), size);
            let _ = w.write_udata(0, size);
        }
        for e in entries {
            match *e {
                Entry::Range { begin, len, expr } => {
                    if enc.version <= 4 {
                        let _ = w.write_address(Address::Constant(begin as u64), size);
                        let _ = w.write_address(Address::Constant(begin as u64 + len as u64), size);
                        if let Some(x) = expr {
                            let _ = w.write_u16(x.len() as u16);
                            let _ = w.write(x);
                        }
                    } else {
                        let code = if locs {
                            gimli::DW_LLE_start_length.0
                        } else {
                            gimli::DW_RLE_start_length.0
                        };
                        let _ = w.write_u8(code);
                        let _ = w.write_address(Address::Constant(begin as u64), size);
                        let _ = w.write_uleb128(len as u64);
                        if let Some(x) = expr {
                            let _ = w.write_uleb128(x.len() as u64);
                            let _ = w.write(x);
                        }
                    }
                }
                Entry::Default { expr } => {
                    // Only DWARF 5 has a default location.
                    let _ = w.write_u8(gimli::DW_LLE_default_location.0);
                    let _ = w.write_uleb128(expr.len() as u64);
                    let _ = w.write(expr);
                }
            }
        }
        if enc.version <= 4 {
            let _ = w.write_udata(0, size);
            let _ = w.write_udata(0, size);
        } else {
            let _ = w.write_u8(0);
        }
    }
    if let Some(b) = base {
        for &(i, list) in indexed {
            if let Ok(at) = moved.binary_search_by_key(&list, |&(o, _)| o) {
                let _ = w.write_u32_at(table_at + 4 * i as usize, (moved[at].1 - b) as u32);
            }
        }
        let len = w.len() as u32 - 4;
        let _ = w.write_u32_at(0, len);
    }
    ListsOut {
        bytes: w.into_vec(),
        moved,
        base,
        dropped: 0,
    }
}

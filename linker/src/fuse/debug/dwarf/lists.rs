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
use crate::fuse::debug::addrs::Cursor;

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
    /// Ranges left out (or given the tombstone).
    pub dropped: u64,
    /// Patched in place ([`patch_v4`]): 4-byte fields (offset in the
    /// input's section, new value) and changed expressions (offset, bytes).
    pub in_place: Option<InPlace>,
}

/// A unit's lists patched in place.
#[derive(Debug, Default)]
pub struct InPlace {
    /// Addresses: (offset in the input's section, new value).
    pub fields: Vec<(u32, u32)>,
    /// Expressions that changed: (offset in the input's section, bytes).
    pub exprs: Vec<(u32, Vec<u8>)>,
}

impl ListsOut {
    /// Where input list offset `old` went, in the piece (patched in
    /// place: the input's own section is the piece).
    pub fn get(&self, old: u64) -> Option<u64> {
        if self.in_place.is_some() {
            return Some(old);
        }
        self.moved
            .binary_search_by_key(&old, |&(o, _)| o)
            .ok()
            .map(|i| self.moved[i].1)
    }
}

/// One list entry, moved: a start and a length (with its expression, in
/// a location list), or the default location.
enum Entry {
    Range {
        begin: u32,
        len: u32,
        expr: Option<Vec<u8>>,
    },
    Default {
        expr: Vec<u8>,
    },
}

/// A range `begin..end` of input `tx.k`, moved, or `None` when it is not
/// in the output as one range.
pub fn move_range(tx: &Tx<'_>, begin: u64, end: u64) -> Option<(u32, u32)> {
    Mover::new(*tx).range(begin, end)
}

/// Ranges of one input moved one after another, with a cursor kept on the
/// last function met (the ranges of a list, or of a unit's entries, come
/// mostly function by function, in increasing order).
#[derive(Debug)]
pub struct Mover<'c> {
    tx: Tx<'c>,
    /// The last function, and its cursor (`None`: not kept).
    cur: Option<(usize, Option<Cursor<'c>>)>,
}

impl<'c> Mover<'c> {
    /// A mover for input `tx.k`.
    pub fn new(tx: Tx<'c>) -> Mover<'c> {
        Mover { tx, cur: None }
    }

    /// Address `addr` of defined function `d`, moved, when `d` is kept
    /// (not removed, not folded).
    fn at(&mut self, d: usize, addr: u32) -> Option<u32> {
        if self.cur.as_ref().is_none_or(|(cd, _)| *cd != d) {
            let c = self
                .tx
                .code
                .cursor(self.tx.k, d)
                .filter(|(_, folded)| !folded)
                .map(|(c, _)| c);
            self.cur = Some((d, c));
        }
        self.cur.as_mut()?.1.as_mut().map(|c| c.at(addr))
    }

    /// The range `begin..end`, moved, or `None` when it is not in the
    /// output as one range.
    pub fn range(&mut self, begin: u64, end: u64) -> Option<(u32, u32)> {
        let (b, e) = (u32::try_from(begin).ok()?, u32::try_from(end).ok()?);
        let code = self.tx.code;
        let d = code.func_at(self.tx.k, b, false)?;
        let nb = self.at(d, b)?;
        if b == e {
            // An empty range: kept empty where its address is.
            return Some((nb, 0));
        }
        let ne = if e <= code.spans(self.tx.k)[d].end {
            self.at(d, e)?
        } else {
            code.translate(self.tx.k, e, true).kept()?
        };
        (ne >= nb).then(|| (nb, ne - nb))
    }

    /// Code address `addr`, moved (`None`: not kept).
    pub fn address(&mut self, addr: u64) -> Option<u32> {
        let a = u32::try_from(addr).ok()?;
        let d = self.tx.code.func_at(self.tx.k, a, false)?;
        self.at(d, a)
    }
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
    let section = if enc.version <= 4 {
        ".debug_ranges"
    } else {
        ".debug_rnglists"
    };
    let mut lists = Vec::with_capacity(offsets.len());
    let mut dropped = 0;
    let mut mover = Mover::new(*tx);
    for &o in offsets {
        let mut it = dwarf
            .ranges(unit, RangeListsOffset(o as usize))
            .map_err(|e| Fault::gimli(section, o, e))?;
        let mut entries = Vec::new();
        while let Some(r) = it.next().map_err(|e| Fault::gimli(section, o, e))? {
            match mover.range(r.begin, r.end) {
                Some((begin, len)) => entries.push(Entry::Range {
                    begin,
                    len,
                    expr: None,
                }),
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
    let section = if enc.version <= 4 {
        ".debug_loc"
    } else {
        ".debug_loclists"
    };
    let mut lists = Vec::with_capacity(offsets.len());
    let mut dropped = 0;
    let mut mover = Mover::new(*tx);
    for &o in offsets {
        let mut it = dwarf
            .locations(unit, gimli::LocationListsOffset(o as usize))
            .map_err(|e| Fault::gimli(section, o, e))?;
        let mut entries = Vec::new();
        while let Some(l) = it.next().map_err(|e| Fault::gimli(section, o, e))? {
            let mut expr = l.data.0.slice().to_vec();
            patch_expression(tx, enc, &mut expr, None).map_err(|reason| Fault::new(section, o, reason))?;
            if l.range.begin == 0 && l.range.end == u64::MAX {
                entries.push(Entry::Default { expr });
                continue;
            }
            match mover.range(l.range.begin, l.range.end) {
                Some((begin, len)) => entries.push(Entry::Range {
                    begin,
                    len,
                    expr: Some(expr),
                }),
                None => dropped += 1,
            }
        }
        lists.push((o, entries));
    }
    let mut out = write(enc, &lists, indexed, true);
    out.dropped = dropped;
    Ok(out)
}

/// Writes the lists (`locs`: location lists, else range lists). Writing
/// into memory cannot fail, so gimli's results are dropped.
fn write(enc: Encoding, lists: &[(u64, Vec<Entry>)], indexed: &[(u64, u64)], locs: bool) -> ListsOut {
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
            match e {
                &Entry::Range { begin, len, ref expr } => {
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
        in_place: None,
    }
}

/// The tombstone wasm-ld writes in `.debug_ranges` and `.debug_loc` (-1
/// selects a base address there).
const TOMBSTONE_V4: u32 = 0xffff_fffe;

/// Patches a DWARF 4 unit's lists at `offsets` in place (`locs`: location
/// lists), when every address is 4 bytes and the unit's base address is 0
/// or moves; `None` when they must be written anew instead.
pub fn patch_v4(
    tx: &Tx<'_>,
    dwarf: &gimli::Dwarf<Reader<'_>>,
    unit: &gimli::Unit<Reader<'_>>,
    offsets: &[u64],
    locs: bool,
    globals_same: bool,
) -> Result<Option<ListsOut>, Fault> {
    let enc = unit.encoding();
    if enc.version > 4 || enc.address_size != 4 {
        return Ok(None);
    }
    let section = if locs { ".debug_loc" } else { ".debug_ranges" };
    let moved_base = |b: u64| -> Option<u64> {
        match b {
            0 => Some(0),
            b => tx
                .code
                .translate(tx.k, u32::try_from(b).ok()?, false)
                .kept()
                .map(u64::from),
        }
    };
    let mut out = InPlace::default();
    let mut dropped = 0;
    let mut mover = Mover::new(*tx);
    let Some(unit_base) = moved_base(unit.low_pc).map(|n| (unit.low_pc, n)) else {
        return Ok(None);
    };
    for &o in offsets {
        let fault = |e| Fault::gimli(section, o, e);
        let (mut base, mut new_base) = unit_base;
        let mut pos = o as u32;
        // One entry: its fields, then (locations) its expression.
        let mut pair = |pos: u32, b: u64, e: u64, base: u64, new_base: u64, out: &mut InPlace| {
            let (ab, ae) = (base.wrapping_add(b), base.wrapping_add(e));
            if b == e || ab >= TOMBSTONE_V4 as u64 {
                return;
            }
            match mover.range(ab, ae) {
                Some((nb, nl)) if nb as u64 >= new_base => {
                    let nb = nb as u64 - new_base;
                    out.fields.push((pos, nb as u32));
                    out.fields.push((pos + 4, (nb + nl as u64) as u32));
                }
                _ => {
                    dropped += 1;
                    out.fields.push((pos, TOMBSTONE_V4));
                    out.fields.push((pos + 4, TOMBSTONE_V4));
                }
            }
        };
        if locs {
            let mut it = dwarf
                .raw_locations(unit, gimli::LocationListsOffset(o as usize))
                .map_err(fault)?;
            while let Some(e) = it.next().map_err(fault)? {
                match e {
                    gimli::RawLocListEntry::BaseAddress { addr } => {
                        let Some(n) = moved_base(addr) else {
                            return Ok(None);
                        };
                        (base, new_base) = (addr, n);
                        out.fields.push((pos + 4, n as u32));
                        pos += 8;
                    }
                    gimli::RawLocListEntry::AddressOrOffsetPair { begin, end, data } => {
                        pair(pos, begin, end, base, new_base, &mut out);
                        let x = data.0.slice();
                        if !globals_same {
                            let mut bytes = x.to_vec();
                            patch_expression(tx, enc, &mut bytes, None)
                                .map_err(|r| Fault::new(section, pos as u64, r))?;
                            if bytes != x {
                                out.exprs.push((pos + 10, bytes));
                            }
                        }
                        pos += 10 + x.len() as u32;
                    }
                    _ => return Ok(None),
                }
            }
        } else {
            let mut it = dwarf
                .raw_ranges(unit, RangeListsOffset(o as usize))
                .map_err(fault)?;
            while let Some(e) = it.next().map_err(fault)? {
                match e {
                    gimli::RawRngListEntry::BaseAddress { addr } => {
                        let Some(n) = moved_base(addr) else {
                            return Ok(None);
                        };
                        (base, new_base) = (addr, n);
                        out.fields.push((pos + 4, n as u32));
                    }
                    gimli::RawRngListEntry::AddressOrOffsetPair { begin, end } => {
                        pair(pos, begin, end, base, new_base, &mut out);
                    }
                    _ => return Ok(None),
                }
                pos += 8;
            }
        }
    }
    Ok(Some(ListsOut {
        dropped,
        in_place: Some(out),
        ..ListsOut::default()
    }))
}

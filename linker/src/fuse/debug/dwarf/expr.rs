//! DWARF expressions: the Wasm global operands of `DW_OP_WASM_location`
//! renumbered in place (fusing moves globals; locals and the operand stack
//! stay as they were), and data addresses moved by the input's memory base
//! once memories are merged.
//!
//! gimli parses each operation; the operand is rewritten where it is: the
//! fixed 4-byte form (`0x03`, what LLVM writes) directly, the LEB128 form
//! (`0x01`) padded to its old length, which holds unless the new index
//! needs more bytes than the old one had (an error naming it).

use gimli::read::Operation;
use gimli::{Encoding, EndianSlice, LittleEndian};

use super::Tx;

/// Renumbers the Wasm globals that `bytes` (one expression) names, and
/// moves its data addresses by the input's memory base: a `DW_OP_addr`
/// in place; a `DW_OP_addrx` (or `DW_OP_constx`) index is pushed to
/// `data`, whose `.debug_addr` entry the caller moves (with no `data`,
/// such an index is an error when there is a base to add).
pub fn patch_expression(
    tx: &Tx<'_>,
    enc: Encoding,
    bytes: &mut [u8],
    mut data: Option<&mut Vec<u64>>,
) -> Result<(), String> {
    // Cheap test first: most expressions name no Wasm location, and no
    // data address needs moving unless memories were merged.
    let addresses = tx.data_base != 0
        && bytes
            .iter()
            .any(|&b| b == gimli::DW_OP_addr.0 || b == gimli::DW_OP_addrx.0 || b == gimli::DW_OP_constx.0);
    if !addresses && !bytes.contains(&gimli::DW_OP_WASM_location.0) {
        return Ok(());
    }
    let mut sites = Vec::new();
    let mut moved = Vec::new();
    {
        let whole = EndianSlice::new(bytes, LittleEndian);
        let mut r = whole;
        while !r.is_empty() {
            let start = r.offset_from(whole);
            let op = Operation::parse(&mut r, enc).map_err(|e| format!("expression: {e}"))?;
            match op {
                Operation::WasmGlobal { index } => sites.push((start, r.offset_from(whole), index)),
                Operation::Address { address } if tx.data_base != 0 => moved.push((start + 1, address)),
                Operation::AddressIndex { index } | Operation::ConstantIndex { index } if tx.data_base != 0 => {
                    match data.as_deref_mut() {
                        Some(d) => d.push(index.0 as u64),
                        None => {
                            return Err(format!(
                                "a location list names data address {} by index, which weld does not move into a merged memory",
                                index.0
                            ))
                        }
                    }
                }
                _ => {}
            }
        }
    }
    let size = (enc.address_size as usize).clamp(1, 8);
    let tomb = !0u64 >> (64 - 8 * size as u32);
    for (at, old) in moved {
        // A tombstone (data the producer dropped) stays one.
        if old >= tomb - 1 {
            continue;
        }
        let new = old + tx.data_base;
        if size < 8 && new >> (8 * size) != 0 {
            return Err(format!("data address {old:#x} moves past {} bits", 8 * size));
        }
        bytes[at..at + size].copy_from_slice(&new.to_le_bytes()[..size]);
    }
    for (start, end, old) in sites {
        // A tombstone (a global the producer did not have) stays one.
        if old == u32::MAX {
            continue;
        }
        let new = tx
            .globals
            .get(old as usize)
            .copied()
            .ok_or_else(|| format!("expression names global {old}, which the input does not have"))?
            .0;
        // The operation byte, the Wasm location kind, then the index.
        let at = start + 2;
        match bytes[start + 1] {
            0x03 => bytes[at..at + 4].copy_from_slice(&new.to_le_bytes()),
            _ => put_padded_leb(&mut bytes[at..end], new as u64).ok_or_else(|| {
                format!("global {old} becomes {new}, whose LEB128 is longer than the old one")
            })?,
        }
    }
    Ok(())
}

/// Writes `x` as a LEB128 filling exactly `out` (padded with continuation
/// bytes), or `None` when it does not fit.
pub fn put_padded_leb(out: &mut [u8], mut x: u64) -> Option<()> {
    let n = out.len();
    if n == 0 || (n < 10 && x >> (7 * n) != 0) {
        return None;
    }
    for (i, b) in out.iter_mut().enumerate() {
        *b = (x & 0x7f) as u8 | if i + 1 < n { 0x80 } else { 0 };
        x >>= 7;
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::put_padded_leb;

    #[test]
    fn padded_leb_reads_back() {
        for (len, x) in [
            (1usize, 0u64),
            (1, 127),
            (2, 5),
            (2, 16383),
            (3, 200),
            (5, u32::MAX as u64),
        ] {
            let mut b = vec![0; len];
            put_padded_leb(&mut b, x).unwrap();
            let mut r = gimli::EndianSlice::new(&b, gimli::LittleEndian);
            assert_eq!(gimli::read::Reader::read_uleb128(&mut r).unwrap(), x);
            assert!(r.is_empty());
        }
        assert!(put_padded_leb(&mut [0u8; 1], 128).is_none());
        assert!(put_padded_leb(&mut [0u8; 2], 1 << 14).is_none());
    }
}

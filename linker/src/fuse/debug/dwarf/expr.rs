//! DWARF expressions: the Wasm global operands of `DW_OP_WASM_location`
//! renumbered in place (fusing moves globals; locals and the operand stack
//! stay as they were).
//!
//! gimli parses each operation; the operand is rewritten where it is: the
//! fixed 4-byte form (`0x03`, what LLVM writes) directly, the LEB128 form
//! (`0x01`) padded to its old length, which holds unless the new index
//! needs more bytes than the old one had (an error naming it).

use gimli::read::Operation;
use gimli::{Encoding, EndianSlice, LittleEndian};

use super::Tx;

/// Renumbers the Wasm globals that `bytes` (one expression) names.
pub fn patch_expression(tx: &Tx<'_>, enc: Encoding, bytes: &mut [u8]) -> Result<(), String> {
    // Cheap test first: most expressions name no Wasm location.
    if !bytes.contains(&gimli::DW_OP_WASM_location.0) {
        return Ok(());
    }
    let mut sites = Vec::new();
    {
        let whole = EndianSlice::new(bytes, LittleEndian);
        let mut r = whole;
        while !r.is_empty() {
            let start = r.offset_from(whole);
            let op = Operation::parse(&mut r, enc).map_err(|e| format!("expression: {e}"))?;
            if let Operation::WasmGlobal { index } = op {
                sites.push((start, r.offset_from(whole), index));
            }
        }
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

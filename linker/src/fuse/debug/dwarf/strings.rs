//! `.debug_str` and `.debug_line_str`: every input's strings in one table
//! each, deduplicated (gimli's string tables), and each input's old offsets
//! mapped to the new ones.

use gimli::write::{LineStringId, LineStringTable, StringId, StringTable};

use super::Fault;

/// One input's strings: where each starts in its section, and its id in
/// the output's table.
#[derive(Debug)]
pub struct OldStrings<Id> {
    starts: Vec<(u32, Id)>,
}

impl<Id> Default for OldStrings<Id> {
    fn default() -> Self {
        OldStrings { starts: Vec::new() }
    }
}

impl<Id: Copy> OldStrings<Id> {
    /// The string at (or inside) input offset `at`: its id, and how far
    /// into it `at` is.
    pub fn find(&self, at: u64) -> Option<(Id, u32)> {
        let i = self.starts.partition_point(|&(s, _)| (s as u64) <= at);
        let (s, id) = *self.starts.get(i.checked_sub(1)?)?;
        Some((id, (at - s as u64) as u32))
    }
}

/// Splits `section` into its NUL-terminated strings, adding each to the
/// output's table with `add`.
fn split<Id>(
    section: &[u8],
    name: &'static str,
    mut add: impl FnMut(&[u8]) -> Id,
) -> Result<OldStrings<Id>, Fault> {
    let mut starts = Vec::new();
    let mut at = 0usize;
    while at < section.len() {
        let Some(len) = section[at..].iter().position(|&b| b == 0) else {
            return Err(Fault::new(name, at as u64, "string without its terminating NUL"));
        };
        starts.push((at as u32, add(&section[at..at + len])));
        at += len + 1;
    }
    Ok(OldStrings { starts })
}

/// The output's string tables, and every input's strings in them.
#[derive(Debug, Default)]
pub struct Strings {
    /// `.debug_str`.
    pub str: StringTable,
    /// `.debug_line_str`.
    pub line_str: LineStringTable,
    /// Per input (by input id).
    pub old_str: Vec<OldStrings<StringId>>,
    /// Per input.
    pub old_line_str: Vec<OldStrings<LineStringId>>,
}

impl Strings {
    /// Both tables from every input's sections, in order: (input id,
    /// `.debug_str`, `.debug_line_str`); `n` inputs in all. Errors name
    /// the input.
    pub fn build(n: usize, inputs: &[(usize, &[u8], &[u8])]) -> Result<Strings, (usize, Fault)> {
        let mut s = Strings::default();
        s.old_str.resize_with(n, Default::default);
        s.old_line_str.resize_with(n, Default::default);
        for &(k, str_sec, line_sec) in inputs {
            s.old_str[k] = split(str_sec, ".debug_str", |b| s.str.add(b)).map_err(|f| (k, f))?;
            s.old_line_str[k] =
                split(line_sec, ".debug_line_str", |b| s.line_str.add(b)).map_err(|f| (k, f))?;
        }
        Ok(s)
    }

    /// Whether input `k`'s `.debug_str` offsets stay as they are.
    pub fn same_str(&self, k: usize) -> bool {
        self.old_str[k]
            .starts
            .iter()
            .all(|&(at, id)| self.str.offset(id).0 == at as usize)
    }

    /// Whether input `k`'s `.debug_line_str` offsets stay as they are.
    pub fn same_line_str(&self, k: usize) -> bool {
        self.old_line_str[k]
            .starts
            .iter()
            .all(|&(at, id)| self.line_str.offset(id).0 == at as usize)
    }

    /// Input `k`'s `.debug_str` offset `at`, in the output.
    pub fn str_offset(&self, k: usize, at: u64) -> Option<u64> {
        let (id, into) = self.old_str[k].find(at)?;
        Some(self.str.offset(id).0 as u64 + into as u64)
    }

    /// Input `k`'s `.debug_line_str` offset `at`, in the output.
    pub fn line_str_offset(&self, k: usize, at: u64) -> Option<u64> {
        let (id, into) = self.old_line_str[k].find(at)?;
        Some(self.line_str.offset(id).0 as u64 + into as u64)
    }

    /// Both sections' bytes.
    pub fn write(&self) -> (Vec<u8>, Vec<u8>) {
        let mut s = gimli::write::DebugStr(gimli::write::EndianVec::new(gimli::LittleEndian));
        let mut l = gimli::write::DebugLineStr(gimli::write::EndianVec::new(gimli::LittleEndian));
        // Writing into memory cannot fail.
        let _ = self.str.write(&mut s);
        let _ = self.line_str.write(&mut l);
        (s.0.into_vec(), l.0.into_vec())
    }
}

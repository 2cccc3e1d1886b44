//! `.debug_str` and `.debug_line_str`: every input's strings in one table
//! each, deduplicated, and each input's old offsets mapped to the new ones.
//!
//! `.debug_line_str` is gimli's table (line programs name its strings by
//! id when gimli writes them). `.debug_str` is only named by offset, so it
//! is merged here, borrowing every string from its input: the first input
//! with strings keeps its offsets unless it repeats a string.

use gimli::write::{LineStringId, LineStringTable};
use rustc_hash::FxHashMap;

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
fn split<'s, Id>(
    section: &'s [u8],
    name: &'static str,
    mut add: impl FnMut(&'s [u8]) -> Id,
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
    /// `.debug_str`'s bytes.
    pub str: Vec<u8>,
    /// `.debug_line_str`.
    pub line_str: LineStringTable,
    /// Per input (by input id): each string's old offset and new one.
    pub old_str: Vec<OldStrings<u32>>,
    /// Per input.
    pub old_line_str: Vec<OldStrings<LineStringId>>,
}

impl Strings {
    /// Both tables from every input's sections, in order: (input id,
    /// `.debug_str`, `.debug_line_str`); `n` inputs in all. Errors name
    /// the input.
    pub fn build<'a>(n: usize, inputs: &[(usize, &'a [u8], &'a [u8])]) -> Result<Strings, (usize, Fault)> {
        let mut s = Strings::default();
        s.old_str.resize_with(n, Default::default);
        s.old_line_str.resize_with(n, Default::default);
        let mut seen: FxHashMap<&'a [u8], u32> = FxHashMap::default();
        let mut out = Vec::with_capacity(inputs.iter().map(|i| i.1.len()).sum());
        for &(k, str_sec, line_sec) in inputs {
            seen.reserve(str_sec.len() / 16);
            s.old_str[k] = split(str_sec, ".debug_str", |b| {
                *seen.entry(b).or_insert_with(|| {
                    let at = out.len() as u32;
                    out.extend_from_slice(b);
                    out.push(0);
                    at
                })
            })
            .map_err(|f| (k, f))?;
            s.old_line_str[k] =
                split(line_sec, ".debug_line_str", |b| s.line_str.add(b)).map_err(|f| (k, f))?;
        }
        s.str = out;
        Ok(s)
    }

    /// The string at input `k`'s `.debug_str` offset `at` (without its NUL).
    pub fn str_at(&self, k: usize, at: u64) -> Option<&[u8]> {
        let new = self.str_offset(k, at)? as usize;
        let rest = self.str.get(new..)?;
        Some(&rest[..rest.iter().position(|&b| b == 0)?])
    }

    /// Input `k`'s `.debug_str` offset `at`, in the output.
    pub fn str_offset(&self, k: usize, at: u64) -> Option<u64> {
        let (new, into) = self.old_str[k].find(at)?;
        Some(new as u64 + into as u64)
    }

    /// Input `k`'s `.debug_line_str` offset `at`, in the output.
    pub fn line_str_offset(&self, k: usize, at: u64) -> Option<u64> {
        let (id, into) = self.old_line_str[k].find(at)?;
        Some(self.line_str.offset(id).0 as u64 + into as u64)
    }

    /// Whether input `k`'s `.debug_str` offsets stay as they are.
    pub fn same_str(&self, k: usize) -> bool {
        self.old_str[k].starts.iter().all(|&(at, new)| new == at)
    }

    /// Whether input `k`'s `.debug_line_str` offsets stay as they are.
    pub fn same_line_str(&self, k: usize) -> bool {
        self.old_line_str[k]
            .starts
            .iter()
            .all(|&(at, id)| self.line_str.offset(id).0 == at as usize)
    }

    /// Both sections' bytes.
    pub fn write(self) -> (Vec<u8>, Vec<u8>) {
        let mut l = gimli::write::DebugLineStr(gimli::write::EndianVec::new(gimli::LittleEndian));
        // Writing into memory cannot fail.
        let _ = self.line_str.write(&mut l);
        (self.str, l.0.into_vec())
    }
}

//! Line programs: every row moved to the output's code addresses, the
//! program re-encoded with gimli's writer (address advances change length,
//! so nothing here can be patched in place).
//!
//! A sequence covers one function (WebAssembly code is always in function
//! sections). A sequence of a removed function is left out; one of a
//! folded function is kept on the body that replaced it, as lld does for
//! `.debug_line` (a breakpoint on the folded function still stops); one
//! that starts outside every function (a tombstone) is left out. A row
//! outside the function its sequence started in is an error. Files keep
//! their entries; gimli merges duplicate entries, so the unit's file
//! attributes are renumbered with [`LineOut::files`].

use gimli::read::{AttributeValue, ColumnType, IncompleteLineProgram};
use gimli::write::{Address, DirectoryId, FileId, FileInfo, LineProgram, LineString};

use super::{Fault, Reader, Tx};
use crate::fuse::debug::dwarf::strings::Strings;

/// One rewritten line program.
#[derive(Debug)]
pub struct LineOut {
    /// The program, when it names strings of the string sections (it is
    /// written with the output's string tables, after every unit's).
    pub program: Option<LineProgram>,
    /// The program written, when it names no string of those sections
    /// (it is written where it is rewritten, in parallel).
    pub bytes: Option<Vec<u8>>,
    /// Input file index (as rows and `DW_AT_decl_file` give it) → output
    /// file index.
    pub files: Vec<u64>,
    /// Sequences left out: removed functions' and tombstones.
    pub dropped: u64,
}

/// A line program header's string, as a string of the output.
fn line_string(
    k: usize,
    strings: &Strings,
    v: AttributeValue<Reader<'_>>,
    at: u64,
) -> Result<LineString, Fault> {
    let bytes = |b: &[u8]| LineString::String(b.to_vec());
    match v {
        AttributeValue::String(s) => Ok(bytes(s.slice())),
        AttributeValue::DebugLineStrRef(o) => match strings.old_line_str[k].find(o.0 as u64) {
            Some((id, 0)) => Ok(LineString::LineStringRef(id)),
            Some((id, into)) => Ok(bytes(&strings.line_str.get(id)[into as usize..])),
            None => Err(Fault::new(
                ".debug_line",
                at,
                "file name outside `.debug_line_str`",
            )),
        },
        // Written inline: `.debug_str` is merged apart from gimli's tables.
        AttributeValue::DebugStrRef(o) => match strings.str_at(k, o.0 as u64) {
            Some(s) => Ok(bytes(s)),
            None => Err(Fault::new(".debug_line", at, "file name outside `.debug_str`")),
        },
        _ => Err(Fault::new(".debug_line", at, "file name of an unsupported form")),
    }
}

/// Whether gimli's writer takes this string: no NUL, and for DWARF 4 and
/// earlier, not empty.
fn checked(s: LineString, version: u16, at: u64) -> Result<LineString, Fault> {
    if let LineString::String(b) = &s {
        if b.contains(&0) || (version <= 4 && b.is_empty()) {
            return Err(Fault::new(".debug_line", at, "empty file or directory name"));
        }
    }
    Ok(s)
}

/// Moves the line program `input` of a unit of input `tx.k` (at `at` in
/// its `.debug_line`).
pub fn rewrite(
    tx: &Tx<'_>,
    strings: &Strings,
    input: IncompleteLineProgram<Reader<'_>>,
    at: u64,
) -> Result<LineOut, Fault> {
    let header = input.header();
    let encoding = header.encoding();
    let version = encoding.version;
    let le = header.line_encoding();
    if !(2..=5).contains(&version) {
        return Err(Fault::new(
            ".debug_line",
            at,
            format!("unknown line program version {version}"),
        ));
    }
    // gimli's writer adds the two as i8: a range over 127 is negative there.
    if le.line_base > 0
        || le.line_range > i8::MAX as u8
        || le.line_base as i16 + le.line_range as i16 <= 0
        || le.minimum_instruction_length == 0
    {
        return Err(Fault::new(".debug_line", at, "unsupported line encoding"));
    }
    let k = tx.k;
    let refs = std::cell::Cell::new(false);
    let ls = |v: AttributeValue<Reader<'_>>| {
        let s = line_string(k, strings, v, at).and_then(|s| checked(s, version, at))?;
        if !matches!(s, LineString::String(_)) {
            refs.set(true);
        }
        Ok(s)
    };
    let dir = |i: u64| {
        header
            .directory(i)
            .ok_or_else(|| Fault::new(".debug_line", at, format!("directory {i} out of range")))
    };
    let working_dir = match (version, header.directory(0)) {
        (_, Some(d)) => ls(d)?,
        (..=4, None) => LineString::String(b".".to_vec()),
        (_, None) => return Err(Fault::new(".debug_line", at, "no directory 0")),
    };
    let files = header.file_names();
    let (first_file, source_dir) = match (version, files.first()) {
        (5.., Some(f)) => (
            ls(f.path_name())?,
            match f.directory_index() {
                0 => None,
                i => Some(ls(dir(i)?)?),
            },
        ),
        (5.., None) => return Err(Fault::new(".debug_line", at, "no file 0")),
        _ => (LineString::String(b".".to_vec()), None),
    };
    let info = |f: &gimli::read::FileEntry<Reader<'_>>| -> Result<FileInfo, Fault> {
        Ok(FileInfo {
            timestamp: f.timestamp(),
            size: f.size(),
            md5: *f.md5(),
            source: match f.source() {
                Some(s) => Some(ls(s)?),
                None => None,
            },
        })
    };
    let first_info = match (version, files.first()) {
        (5.., Some(f)) => Some(info(f)?),
        _ => None,
    };
    let mut program = LineProgram::new(encoding, le, working_dir, source_dir, first_file, first_info);
    program.file_has_timestamp = header.file_has_timestamp();
    program.file_has_size = header.file_has_size();
    program.file_has_md5 = header.file_has_md5();
    program.file_has_source = header.file_has_source();

    // Directories: index 0 is the working directory.
    let n_dirs = header.include_directories().len() as u64 + if version <= 4 { 1 } else { 0 };
    let mut dirs: Vec<DirectoryId> = vec![program.default_directory()];
    for i in 1..n_dirs {
        dirs.push(program.add_directory(ls(dir(i)?)?));
    }
    // Files: as rows number them (1-based up to DWARF 4).
    let base = if version <= 4 { 1 } else { 0 };
    let mut ids: Vec<Option<FileId>> = Vec::with_capacity(files.len() + 1);
    if version <= 4 {
        // Index 0 is unused before DWARF 5.
        ids.push(None);
    }
    for (i, f) in files.iter().enumerate() {
        if version >= 5 && i == 0 {
            ids.push(program.files().next().map(|(id, ..)| id));
            continue;
        }
        let d = dirs.get(f.directory_index() as usize).copied().ok_or_else(|| {
            Fault::new(
                ".debug_line",
                at,
                format!(
                    "file {} names directory {} out of range",
                    i + base,
                    f.directory_index()
                ),
            )
        })?;
        let info = if header.file_has_timestamp()
            || header.file_has_size()
            || header.file_has_md5()
            || header.file_has_source()
        {
            Some(info(f)?)
        } else {
            None
        };
        ids.push(Some(program.add_file(ls(f.path_name())?, d, info)));
    }
    // Each output file's index, as gimli numbers them.
    let index_of: rustc_hash::FxHashMap<FileId, u64> = program
        .files()
        .enumerate()
        .map(|(i, (id, ..))| (id, i as u64 + base as u64))
        .collect();
    let file_map: Vec<u64> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| id.and_then(|id| index_of.get(&id).copied()).unwrap_or(i as u64))
        .collect();

    let rows = rows(tx, input, &mut program, &ids, at)?;
    let (program, bytes) = if refs.get() {
        (Some(program), None)
    } else {
        let mut w = gimli::write::DebugLine(gimli::write::EndianVec::new(gimli::LittleEndian));
        program
            .write(
                &mut w,
                encoding,
                &mut gimli::write::LineStringTable::default(),
                &mut gimli::write::StringTable::default(),
            )
            .map_err(|e| Fault::new(".debug_line", at, e.to_string()))?;
        (None, Some(w.0.into_vec()))
    };
    Ok(LineOut {
        program,
        bytes,
        files: file_map,
        dropped: rows,
    })
}

/// Moves every row into `program`; returns how many sequences were left out.
fn rows(
    tx: &Tx<'_>,
    input: IncompleteLineProgram<Reader<'_>>,
    program: &mut LineProgram,
    ids: &[Option<FileId>],
    at: u64,
) -> Result<u64, Fault> {
    let mut rows = input.rows();
    let mut dropped = 0u64;
    // The current input sequence: its function, and its output start
    // (None while it is being left out).
    let mut seq: Option<(usize, Option<u32>)> = None;
    let mut cursor: Option<crate::fuse::debug::addrs::Cursor<'_>> = None;
    // The last row's output address: rows never go backwards.
    let mut last = 0u32;
    let backwards = |addr: u64| {
        Fault::new(
            ".debug_line",
            at,
            format!("the row at code address {addr:#x} goes back before the one before it"),
        )
    };
    while let Some((_, row)) = rows.next_row().map_err(|e| Fault::gimli(".debug_line", at, e))? {
        let addr = row.address();
        if row.end_sequence() {
            if let Some((d, Some(start))) = seq.take() {
                let span = tx.code.spans(tx.k)[d];
                if addr > span.end as u64 || addr < span.start as u64 {
                    return Err(past(tx, d, addr, at));
                }
                let end = cursor.as_mut().map_or(start, |c| c.at(addr as u32));
                if end < last {
                    return Err(backwards(addr));
                }
                program.end_sequence((end - start) as u64);
            }
            seq = None;
            continue;
        }
        let (d, start) = match seq {
            Some(s) => s,
            None => {
                cursor = None;
                let s = match addr.try_into().ok().and_then(|a| tx.code.func_at(tx.k, a, false)) {
                    Some(d) => {
                        cursor = tx.code.cursor(tx.k, d).map(|(c, _)| c);
                        (d, cursor.as_mut().map(|c| c.at(addr as u32)))
                    }
                    None => (usize::MAX, None),
                };
                if s.1.is_none() {
                    dropped += 1;
                }
                if let Some(a) = s.1 {
                    program.begin_sequence(Some(Address::Constant(a as u64)));
                    last = a;
                }
                seq = Some(s);
                s
            }
        };
        let Some(start) = start else { continue };
        let span = tx.code.spans(tx.k)[d];
        if addr >= span.end as u64 || addr < span.start as u64 {
            return Err(past(tx, d, addr, at));
        }
        let a = cursor.as_mut().map_or(start, |c| c.at(addr as u32));
        if a < last {
            return Err(backwards(addr));
        }
        last = a;
        let file = ids
            .get(row.file_index() as usize)
            .copied()
            .flatten()
            .ok_or_else(|| {
                Fault::new(
                    ".debug_line",
                    at,
                    format!("row names file {} out of range", row.file_index()),
                )
            })?;
        let out = program.row();
        out.address_offset = (a - start) as u64;
        out.op_index = row.op_index();
        out.file = file;
        out.line = row.line().map_or(0, |l| l.get());
        out.column = match row.column() {
            ColumnType::LeftEdge => 0,
            ColumnType::Column(c) => c.get(),
        };
        out.discriminator = row.discriminator();
        out.is_statement = row.is_stmt();
        out.basic_block = row.basic_block();
        out.prologue_end = row.prologue_end();
        out.epilogue_begin = row.epilogue_begin();
        out.isa = row.isa();
        program.generate_row();
    }
    if let Some((_, Some(_))) = seq {
        return Err(Fault::new(
            ".debug_line",
            at,
            "line program ends inside a sequence",
        ));
    }
    Ok(dropped)
}

/// A row past the end of its sequence's function.
fn past(tx: &Tx<'_>, d: usize, addr: u64, at: u64) -> Fault {
    let span = tx.code.spans(tx.k)[d];
    Fault::new(
        ".debug_line",
        at,
        format!(
            "a row at code address {addr:#x} runs past its function (defined function {d}, code {:#x}..{:#x})",
            span.start, span.end
        ),
    )
}

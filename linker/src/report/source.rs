//! `weld size --by-source`: a module's code bytes by source directory and
//! file, from its DWARF line tables.
//!
//! Every line-table row covers the code from its address to the next row's
//! (DWARF's code addresses are offsets into the code section's contents),
//! within the instructions of the body it starts in. Ranges are clipped
//! where they overlap (the first row at an address wins) and ranges outside
//! the code section (tombstoned, removed functions) are left out, so every
//! byte of the code section is counted once: in a file, or in `(no line
//! information)` (the section's count, each body's size and locals, code
//! without rows). Modules of a component are read in parallel.

use std::collections::HashMap;

use gimli::{EndianSlice, LittleEndian};
use rayon::prelude::*;
use wasmparser::{Parser, Payload};

use super::size::SizeNode;

type Reader<'a> = EndianSlice<'a, LittleEndian>;

/// The code of `bytes` (a module, or every module of a component with
/// DWARF) by source file; `None` when no module has DWARF line tables.
/// A component's tree has one child per such module, named by its place.
///
/// ```
/// let wasm = wat::parse_str("(module (func))")?;
/// assert!(weld_linker::size_by_source("m.wasm", &wasm).is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn size_by_source(name: &str, bytes: &[u8]) -> Option<SizeNode> {
    if !Parser::is_component(bytes) {
        let mut n = module(bytes)?;
        n.name = name.to_string();
        return Some(n);
    }
    let mut modules = Vec::new();
    nested_modules(bytes, "", 0, &mut modules);
    let trees: Vec<SizeNode> = modules
        .par_iter()
        .filter_map(|(place, m)| {
            let mut n = module(m)?;
            n.name = place.clone();
            Some(n)
        })
        .collect();
    if trees.is_empty() {
        return None;
    }
    Some(SizeNode::parent(name, "component", trees))
}

/// Every core module of a component, with its place, at every depth.
fn nested_modules<'a>(bytes: &'a [u8], path: &str, depth: usize, out: &mut Vec<(String, &'a [u8])>) {
    if depth >= weld_format::limits::MAX_NESTING {
        return;
    }
    let Ok(secs) = weld_format::sections::sections(bytes) else {
        return;
    };
    let (mut m, mut c) = (0, 0);
    for s in &secs {
        let Some(r) = s.nested() else { continue };
        let module = matches!(s.payload, Payload::ModuleSection { .. });
        let label = if module {
            m += 1;
            format!("module[{}]", m - 1)
        } else {
            c += 1;
            format!("component[{}]", c - 1)
        };
        let place = if path.is_empty() {
            label
        } else {
            format!("{path}/{label}")
        };
        if module {
            out.push((place, &bytes[r]));
        } else {
            nested_modules(&bytes[r], &place, depth + 1, out);
        }
    }
}

/// One module's tree, `None` without line tables.
fn module(bytes: &[u8]) -> Option<SizeNode> {
    let mut sections: HashMap<&str, &[u8]> = HashMap::new();
    let mut code = None;
    // Each body's instructions (after its size and locals), as absolute
    // offsets: the bytes a line row may cover.
    let mut bodies: Vec<(u64, u64)> = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.ok()? {
            Payload::CodeSectionStart { unchecked_range, .. } => code = Some(unchecked_range),
            Payload::CodeSectionEntry(body) => {
                let ops = body.get_operators_reader().ok()?.original_position();
                bodies.push((ops, body.range().end));
            }
            Payload::CustomSection(c) if c.name().starts_with(".debug_") => {
                sections.insert(c.name(), c.data());
            }
            _ => {}
        }
    }
    let code = code?;
    let code_len = code.end.saturating_sub(code.start);
    let bodies: Vec<(u64, u64)> = bodies
        .into_iter()
        .map(|(a, b)| (a - code.start, b - code.start))
        .collect();
    if !sections.contains_key(".debug_line") || !sections.contains_key(".debug_info") {
        return None;
    }
    let dwarf = gimli::Dwarf::load(|id| -> Result<Reader<'_>, ()> {
        Ok(EndianSlice::new(
            sections.get(id.name()).copied().unwrap_or(&[]),
            LittleEndian,
        ))
    })
    .ok()?;
    // (start, end, file) for every row range inside the code.
    let mut files: Vec<String> = Vec::new();
    let mut file_ids: HashMap<String, usize> = HashMap::new();
    let mut ranges: Vec<(u64, u64, usize)> = Vec::new();
    let mut units = dwarf.units();
    while let Ok(Some(header)) = units.next() {
        let Ok(unit) = dwarf.unit(header) else { continue };
        let Some(program) = unit.line_program.clone() else {
            continue;
        };
        let mut names: HashMap<u64, usize> = HashMap::new();
        let mut rows = program.rows();
        let mut open: Option<(u64, usize)> = None;
        while let Ok(Some((header, row))) = rows.next_row() {
            let at = row.address();
            if let Some((start, file)) = open.take() {
                if start < at && at <= code_len {
                    ranges.push((start, at, file));
                }
            }

            if row.end_sequence() {
                continue;
            }
            let index = row.file_index();
            let file = match names.get(&index) {
                Some(&f) => f,
                None => {
                    let path = file_path(&dwarf, &unit, header, row);
                    let f = *file_ids.entry(path.clone()).or_insert_with(|| {
                        files.push(path);
                        files.len() - 1
                    });
                    names.insert(index, f);
                    f
                }
            };
            open = Some((at, file));
        }
    }
    if ranges.is_empty() {
        return None;
    }
    ranges.sort_unstable();
    let mut per_file = vec![0u64; files.len()];
    let mut covered = 0u64;
    for (start, end, file) in ranges {
        // Inside the body the row starts in (a sequence that runs on past
        // a body's end does not take the next body's size and locals).
        let k = bodies.partition_point(|b| b.1 <= start);
        let Some(&(ops, body_end)) = bodies.get(k) else {
            continue;
        };
        let (start, end) = (start.max(ops).max(covered), end.min(body_end));
        if start < end {
            per_file[file] += end - start;
            covered = end;
        }
    }
    let attributed: u64 = per_file.iter().sum();
    let mut root = Dir::default();
    for (path, bytes) in files.iter().zip(per_file) {
        if bytes > 0 {
            root.add(path, bytes);
        }
    }
    let mut children = root.nodes();
    if code_len > attributed {
        children.push(SizeNode::leaf(
            "(no line information)",
            "lines",
            (code_len - attributed) as usize,
        ));
    }
    Some(SizeNode::parent("code", "module", children))
}

/// A row's file as a path: its directory joined with its name (a relative
/// directory under the unit's compilation directory).
fn file_path(
    dwarf: &gimli::Dwarf<Reader<'_>>,
    unit: &gimli::Unit<Reader<'_>>,
    header: &gimli::LineProgramHeader<Reader<'_>>,
    row: &gimli::LineRow,
) -> String {
    let text = |v: gimli::AttributeValue<Reader<'_>>| {
        dwarf
            .attr_string(unit, v)
            .map(|s| String::from_utf8_lossy(s.slice()).into_owned())
            .unwrap_or_default()
    };
    let Some(file) = row.file(header) else {
        return "(unknown file)".to_string();
    };
    let name = text(file.path_name());
    if name.starts_with('/') {
        return name;
    }
    let mut dir = file.directory(header).map(text).unwrap_or_default();
    if !dir.starts_with('/') {
        if let Some(comp) = &unit.comp_dir {
            let comp = String::from_utf8_lossy(comp.slice());
            dir = if dir.is_empty() {
                comp.into_owned()
            } else {
                format!("{comp}/{dir}")
            };
        }
    }
    if dir.is_empty() {
        name
    } else {
        format!("{}/{name}", dir.trim_end_matches('/'))
    }
}

/// Directories and files, by path step.
#[derive(Default)]
struct Dir {
    dirs: std::collections::BTreeMap<String, Dir>,
    files: Vec<(String, u64)>,
}

impl Dir {
    fn add(&mut self, path: &str, bytes: u64) {
        let mut steps: Vec<&str> = path.split('/').filter(|s| !s.is_empty() && *s != ".").collect();
        let Some(file) = steps.pop() else { return };
        let mut d = self;
        for s in steps {
            d = d.dirs.entry(s.to_string()).or_default();
        }
        d.files.push((file.to_string(), bytes));
    }

    /// The tree's nodes; a directory holding only one directory is merged
    /// with it (`usr/src/ruby`).
    fn nodes(self) -> Vec<SizeNode> {
        let mut out: Vec<SizeNode> = Vec::new();
        for (mut name, mut dir) in self.dirs {
            while dir.files.is_empty() && dir.dirs.len() == 1 {
                let (inner, d) = dir.dirs.into_iter().next().expect("one directory");
                name = format!("{name}/{inner}");
                dir = d;
            }
            out.push(SizeNode::parent(format!("{name}/"), "directory", dir.nodes()));
        }
        out.extend(
            self.files
                .into_iter()
                .map(|(name, bytes)| SizeNode::leaf(name, "file", bytes as usize)),
        );
        out
    }
}

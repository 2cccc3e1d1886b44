//! DWARF through `weld fuse` and `weld link`, checked against the inputs by
//! code that shares nothing with weld's own (linker/src/fuse/debug/).
//!
//! Inputs: the C sets `corpus/build-debug` builds (`~/.cache/weld/debug/`:
//! fuse-dwarf5, fuse-dwarf4, link-dwarf5) and the real debug build
//! ruby-debug (`corpus/fetch ruby-debug`). A missing input or tool fails
//! under CI and is a printed skip elsewhere.
//!
//! - Line tables: every row of every kept function of every input is found
//!   in the output at the address this file computes itself (the
//!   instruction of the same ordinal in the output body, found through the
//!   link map), with the same file path, line and column; folded
//!   functions' rows are on the body kept in their place; removed ones'
//!   are gone (one output row per row kept); every output row lies in an
//!   output body.
//! - Function starts: every subprogram's `DW_AT_low_pc` is its body's start
//!   in the output, or the tombstone when the function is removed or folded.
//! - Variables: every `DW_OP_WASM_location` global follows the map's
//!   global indices.
//! - llvm-dwarfdump-16 --verify finds no error kind the inputs lack;
//!   llvm-symbolizer-16 answers the same for the same code. (Both read a
//!   copy without declarative element segments, which llvm-16's wasm
//!   reader rejects; see `for_llvm16`.)
//! - The fused module runs like its inputs; every output validates.
//! - Bad DWARF is a one-line error naming the input, section and offset.
//! - `--strip-debug` drops all DWARF, silently.
//! - Source maps (Binaryen's `wasm-opt -osm`, the srcmap set): every
//!   mapping of a kept function is in the output's map at its moved offset.
//! - The link map's `debug` fields say what was kept, its sizes and the
//!   tombstones.

mod common;
#[path = "common/registry.rs"]
#[allow(dead_code)]
mod harness;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use gimli::{EndianSlice, LittleEndian};
use serde_json::Value;

use common::stderr;
use harness::missing;

type R<'a> = EndianSlice<'a, LittleEndian>;

/// The tombstone weld (and wasm-ld) give removed code addresses and indices.
const TOMBSTONE: u64 = 0xffff_ffff;

// ---------------------------------------------------------------------------
// Inputs, tools, running weld.

const FUSE_FILES: [&str; 3] = ["mod_b.wasm", "mod_a.wasm", "main.wasm"];
const LINK_FILES: [&str; 3] = ["main.so", "libmid.so", "libbase.so"];

/// The built set `name` of `corpus/build-debug`, if all of `files` are there.
fn debug_set(name: &str, files: &[&str]) -> Option<PathBuf> {
    let dir = common::cache().join("debug").join(name);
    if files.iter().all(|f| dir.join(f).is_file()) {
        return Some(dir);
    }
    missing(&format!(
        "{} not built (run corpus/build-debug {name})",
        dir.display()
    ));
    None
}

/// The sysroot's libc.so the link sets link against.
fn libc() -> Option<PathBuf> {
    let p = common::cache().join("dylink/sysroot/libc.so");
    if p.is_file() {
        return Some(p);
    }
    missing(&format!(
        "{} not found (corpus/build-debug and corpus/build-dylink extract it)",
        p.display()
    ));
    None
}

fn dwarfdump() -> Option<PathBuf> {
    harness::tool(
        "llvm-dwarfdump-16",
        "WELD_LLVM_DWARFDUMP",
        &[PathBuf::from("/usr/bin/llvm-dwarfdump-16")],
    )
}

fn symbolizer() -> Option<PathBuf> {
    harness::tool(
        "llvm-symbolizer-16",
        "WELD_LLVM_SYMBOLIZER",
        &[PathBuf::from("/usr/bin/llvm-symbolizer-16")],
    )
}

/// One input of a fuse or link: its name in the link map, its file, bytes.
struct Input {
    name: String,
    path: PathBuf,
    bytes: Vec<u8>,
}

/// A fused or linked module with its inputs and link map.
struct Linked {
    set: String,
    inputs: Vec<Input>,
    out: Vec<u8>,
    /// The fuse-level link map (`weld link`: its `fuse` member).
    map: Value,
    stderr: String,
    dir: tempfile::TempDir,
}

fn validate(what: &str, bytes: &[u8]) {
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(bytes)
        .unwrap_or_else(|e| panic!("{what}: the output does not validate: {e}"));
}

/// What `weld COMMAND FILES... -o OUT --map MAP EXTRA...` wrote (it must
/// succeed): the output (validated), the map, stderr, the folder.
struct Ran {
    out: Vec<u8>,
    map: Value,
    stderr: String,
    dir: tempfile::TempDir,
}

fn run(command: &str, set: &str, files: &[PathBuf], extra: &[&str]) -> Ran {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("out.wasm");
    let map_path = dir.path().join("map.json");
    let mut args: Vec<String> = vec![command.into()];
    args.extend(files.iter().map(|p| p.display().to_string()));
    args.extend(["-o".into(), out_path.display().to_string()]);
    args.extend(["--map".into(), map_path.display().to_string()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    let o = common::weld(&args);
    assert!(o.status.success(), "{set}: weld {args:?}: {}", stderr(&o));
    let map: Value = serde_json::from_slice(&std::fs::read(&map_path).unwrap()).unwrap();
    let out = std::fs::read(&out_path).unwrap();
    validate(set, &out);
    Ran {
        out,
        map,
        stderr: stderr(&o),
        dir,
    }
}

/// `weld fuse FILES... -o OUT --map MAP EXTRA...`; inputs named by the map.
fn fuse(set: &str, files: &[PathBuf], extra: &[&str]) -> Linked {
    let Ran {
        out,
        map,
        stderr,
        dir,
    } = run("fuse", set, files, extra);
    let names: Vec<String> = map["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names.len(), files.len(), "{set}: the map lists every input");
    let inputs = names
        .into_iter()
        .zip(files)
        .map(|(name, p)| Input {
            name,
            path: p.clone(),
            bytes: std::fs::read(p).unwrap(),
        })
        .collect();
    Linked {
        set: set.to_string(),
        inputs,
        out,
        map,
        stderr,
        dir,
    }
}

/// `weld link FILES... -o OUT --map MAP`, as tests/link.rs links (MAIN
/// first, libc.so last); inputs named by the map's `libraries`.
fn link(set: &str, files: &[PathBuf], extra: &[&str]) -> Linked {
    let Ran {
        out,
        map,
        stderr,
        dir,
    } = run("link", set, files, extra);
    let inputs = map["libraries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let path = PathBuf::from(l["file"].as_str().unwrap());
            Input {
                name: l["name"].as_str().unwrap().to_string(),
                bytes: std::fs::read(&path).unwrap(),
                path,
            }
        })
        .collect();
    Linked {
        set: set.to_string(),
        inputs,
        out,
        map: map["fuse"].clone(),
        stderr,
        dir,
    }
}

fn fuse_set(name: &str) -> Option<Linked> {
    let dir = debug_set(name, &FUSE_FILES)?;
    let files: Vec<PathBuf> = FUSE_FILES.iter().map(|f| dir.join(f)).collect();
    Some(fuse(name, &files, &[]))
}

fn link_set() -> Option<Linked> {
    let dir = debug_set("link-dwarf5", &LINK_FILES)?;
    let libc = libc()?;
    let mut files: Vec<PathBuf> = LINK_FILES.iter().map(|f| dir.join(f)).collect();
    files.push(libc);
    Some(link("link-dwarf5", &files, &[]))
}

/// The link-dwarf5 set as toolchains ship it (`wasm-tools component link`
/// with the preview1 adapter), then `weld flatten --map`: the linked module,
/// the members with DWARF (the libraries, by the name the group's fuse map
/// gives them: `core instance N $name`) and that map.
fn flatten_set() -> Option<Linked> {
    let dir = debug_set("link-dwarf5", &LINK_FILES)?;
    let libc = libc()?;
    let tools = harness::wasm_tools()?;
    let adapter = common::cache().join("dylink/adapter/wasi_snapshot_preview1.command.wasm");
    if !adapter.is_file() {
        missing(&format!(
            "{} not found (run corpus/build-dylink)",
            adapter.display()
        ));
        return None;
    }
    let tmp = tempfile::tempdir().unwrap();
    let linked = tmp.path().join("linked.wasm");
    let o = Command::new(&tools)
        .args(["component", "link", "--adapt"])
        .arg(format!("wasi_snapshot_preview1={}", adapter.display()))
        .arg(&libc)
        .args(LINK_FILES.iter().rev().map(|f| dir.join(f)))
        .arg("-o")
        .arg(&linked)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let (out, map) = (tmp.path().join("flat.wasm"), tmp.path().join("map.json"));
    let o = common::weld(&[
        "flatten".as_ref(),
        linked.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
        "--map".as_ref(),
        map.as_os_str(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report: Value = serde_json::from_slice(&std::fs::read(&map).unwrap()).unwrap();
    let group = &report["groups"][0];
    let component = std::fs::read(&linked).unwrap();
    let by_instance = instance_modules(&component);
    let inputs = group["fuse"]["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| {
            let name = i["name"].as_str().unwrap().to_string();
            let n: usize = name
                .strip_prefix("core instance ")?
                .split(' ')
                .next()?
                .parse()
                .ok()?;
            let bytes = by_instance[n].clone();
            Wasm::new(&bytes).has_dwarf().then(|| Input {
                path: linked.with_extension(format!("instance{n}.wasm")),
                name,
                bytes,
            })
        })
        .collect();
    // The linked module is the largest in the output.
    let flat = std::fs::read(&out).unwrap();
    let linked_module = top_modules(&flat).into_iter().max_by_key(|m| m.len()).unwrap();
    Some(Linked {
        set: "flatten-link-dwarf5".into(),
        inputs,
        out: linked_module,
        map: group["fuse"].clone(),
        stderr: stderr(&o),
        dir: tmp,
    })
}

/// A component's top-level core modules, in order.
fn top_modules(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut depth = 0;
    for p in wasmparser::Parser::new(0).parse_all(bytes) {
        match p.unwrap() {
            wasmparser::Payload::Version { .. } => depth += 1,
            wasmparser::Payload::End(_) => depth -= 1,
            wasmparser::Payload::ModuleSection {
                unchecked_range: r, ..
            } if depth == 1 => out.push(bytes[r.start as usize..r.end as usize].to_vec()),
            _ => {}
        }
    }
    out
}

/// Each core instance's module bytes (empty for an instance of exports).
fn instance_modules(bytes: &[u8]) -> Vec<Vec<u8>> {
    let modules = top_modules(bytes);
    let mut out = Vec::new();
    let mut depth = 0;
    for p in wasmparser::Parser::new(0).parse_all(bytes) {
        match p.unwrap() {
            wasmparser::Payload::Version { .. } => depth += 1,
            wasmparser::Payload::End(_) => depth -= 1,
            wasmparser::Payload::InstanceSection(r) if depth == 1 => {
                for i in r {
                    out.push(match i.unwrap() {
                        wasmparser::Instance::Instantiate { module_index, .. } => {
                            modules[module_index as usize].clone()
                        }
                        wasmparser::Instance::FromExports(_) => Vec::new(),
                    });
                }
            }
            _ => {}
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Reading modules.

/// A module's sections: (id, custom name, payload range).
fn sections(bytes: &[u8]) -> Vec<(u8, Option<String>, std::ops::Range<usize>)> {
    fn leb(b: &[u8], at: &mut usize) -> usize {
        let (mut v, mut s) = (0usize, 0);
        loop {
            let c = b[*at];
            *at += 1;
            v |= ((c & 0x7f) as usize) << s;
            s += 7;
            if c & 0x80 == 0 {
                return v;
            }
        }
    }
    assert_eq!(&bytes[..4], b"\0asm", "a core module");
    let mut at = 8;
    let mut out = Vec::new();
    while at < bytes.len() {
        let id = bytes[at];
        at += 1;
        let size = leb(bytes, &mut at);
        let range = at..at + size;
        let name = (id == 0).then(|| {
            let mut p = at;
            let n = leb(bytes, &mut p);
            String::from_utf8_lossy(&bytes[p..p + n]).into_owned()
        });
        out.push((id, name, range));
        at += size;
    }
    out
}

/// What to do with a section when rebuilding a module.
enum Edit {
    Keep,
    Drop,
    /// A custom section's new payload (after its name).
    Custom(Vec<u8>),
    /// Any section's new raw payload.
    Raw(Vec<u8>),
}

/// The module with its sections edited by `f(id, custom name)`: the others
/// copied raw (wasm-encoder's `RawSection`).
fn rebuild(bytes: &[u8], f: impl Fn(u8, Option<&str>, &[u8]) -> Edit) -> Vec<u8> {
    let mut m = wasm_encoder::Module::new();
    for (id, name, range) in sections(bytes) {
        let payload = &bytes[range];
        // A custom section's data: after its name.
        let data = || {
            let mut r = wasmparser::BinaryReader::new(payload, 0);
            r.read_string().unwrap();
            &payload[r.current_position()..]
        };
        match f(id, name.as_deref(), if id == 0 { data() } else { payload }) {
            Edit::Keep => {
                m.section(&wasm_encoder::RawSection { id, data: payload });
            }
            Edit::Drop => {}
            Edit::Custom(d) => {
                m.section(&wasm_encoder::CustomSection {
                    name: name.unwrap().into(),
                    data: d.into(),
                });
            }
            Edit::Raw(d) => {
                m.section(&wasm_encoder::RawSection { id, data: &d });
            }
        }
    }
    m.finish()
}

/// A copy llvm-16's wasm reader takes: it fails on declarative element
/// segments ("invalid elemtype"), which `weld link` writes; they say
/// nothing DWARF depends on (code addresses are code-section offsets).
fn for_llvm16(bytes: &[u8]) -> Vec<u8> {
    rebuild(bytes, |id, _, payload| {
        if id != 9 {
            return Edit::Keep;
        }
        let r = wasmparser::ElementSectionReader::new(wasmparser::BinaryReader::new(payload, 0)).unwrap();
        let kept: Vec<_> = r
            .into_iter()
            .map(|e| e.unwrap())
            .filter(|e| !matches!(e.kind, wasmparser::ElementKind::Declared))
            .map(|e| e.range)
            .collect();
        let mut out = Vec::new();
        wasm_encoder::Encode::encode(&(kept.len() as u32), &mut out);
        for r in kept {
            out.extend_from_slice(&payload[r.start as usize..r.end as usize]);
        }
        Edit::Raw(out)
    })
}

/// What this file needs of a module: its custom sections, function
/// imports, names and bodies with their code addresses.
struct Wasm<'a> {
    customs: HashMap<&'a str, &'a [u8]>,
    imported_funcs: u32,
    /// Where the code section's payload starts in the file.
    code_start: u64,
    bodies: Vec<wasmparser::FunctionBody<'a>>,
    /// Per defined function: where its local declarations start and where
    /// it ends, in code addresses.
    spans: Vec<(u64, u64)>,
    /// Function index → name (the `name` section).
    names: HashMap<u32, &'a str>,
}

impl<'a> Wasm<'a> {
    fn new(bytes: &'a [u8]) -> Wasm<'a> {
        use wasmparser::Payload;
        let mut w = Wasm {
            customs: HashMap::new(),
            imported_funcs: 0,
            code_start: 0,
            bodies: Vec::new(),
            spans: Vec::new(),
            names: HashMap::new(),
        };
        for p in wasmparser::Parser::new(0).parse_all(bytes) {
            match p.unwrap() {
                Payload::ImportSection(r) => {
                    for i in r.into_imports() {
                        if matches!(
                            i.unwrap().ty,
                            wasmparser::TypeRef::Func(_) | wasmparser::TypeRef::FuncExact(_)
                        ) {
                            w.imported_funcs += 1;
                        }
                    }
                }
                Payload::CodeSectionStart { unchecked_range, .. } => w.code_start = unchecked_range.start,
                Payload::CodeSectionEntry(b) => {
                    let r = b.range();
                    w.spans.push((r.start - w.code_start, r.end - w.code_start));
                    w.bodies.push(b);
                }
                Payload::CustomSection(c) => {
                    if let wasmparser::KnownCustom::Name(r) = c.as_known() {
                        for n in r.into_iter().flatten() {
                            if let wasmparser::Name::Function(m) = n {
                                for n in m.into_iter().flatten() {
                                    w.names.insert(n.index, n.name);
                                }
                            }
                        }
                    }
                    w.customs.entry(c.name()).or_insert(c.data());
                }
                _ => {}
            }
        }
        w
    }

    /// The code address of every operator of defined function `d`.
    fn ops(&self, d: usize) -> Vec<u64> {
        let mut r = self.bodies[d].get_operators_reader().unwrap();
        let mut v = Vec::new();
        while !r.eof() {
            v.push(r.original_position() - self.code_start);
            r.read().unwrap();
        }
        v
    }

    /// The defined function whose body holds `addr` (`end`: an
    /// end-of-sequence address, one past the body).
    fn func_at(&self, addr: u64, end: bool) -> Option<usize> {
        let i = self.spans.partition_point(|s| s.1 < addr);
        for d in [i, i.wrapping_sub(1), i + 1] {
            if let Some(&(s, e)) = self.spans.get(d) {
                let inside = if end {
                    s < addr && addr <= e
                } else {
                    s <= addr && addr < e
                };
                if inside {
                    return Some(d);
                }
            }
        }
        None
    }

    fn name(&self, d: usize) -> String {
        self.names.get(&(self.imported_funcs + d as u32)).map_or_else(
            || format!("#{}", self.imported_funcs as usize + d),
            |n| n.to_string(),
        )
    }

    fn has_dwarf(&self) -> bool {
        self.customs.contains_key(".debug_info")
    }

    fn dwarf(&self) -> gimli::Dwarf<R<'a>> {
        gimli::Dwarf::load(|id| -> Result<R<'a>, gimli::Error> {
            Ok(EndianSlice::new(
                self.customs.get(id.name()).copied().unwrap_or(&[]),
                LittleEndian,
            ))
        })
        .unwrap()
    }
}

// ---------------------------------------------------------------------------
// Line tables.

/// File paths, shared by inputs and output so rows compare by id.
#[derive(Default)]
struct Paths {
    ids: HashMap<String, u32>,
    names: Vec<String>,
}

impl Paths {
    fn id(&mut self, s: String) -> u32 {
        if let Some(&i) = self.ids.get(&s) {
            return i;
        }
        self.names.push(s.clone());
        self.ids.insert(s, self.names.len() as u32 - 1);
        self.names.len() as u32 - 1
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Row {
    addr: u64,
    file: u32,
    line: u64,
    col: u64,
    end: bool,
    /// An end of a sequence with no row before it (it covers no address).
    lone: bool,
}

fn attr_str<'a>(
    dw: &gimli::Dwarf<R<'a>>,
    unit: &gimli::Unit<R<'a>>,
    v: gimli::AttributeValue<R<'a>>,
) -> String {
    dw.attr_string(unit, v)
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|e| format!("<bad string: {e}>"))
}

/// The full path of file `index` of a line program: directory + name.
fn file_path<'a>(
    dw: &gimli::Dwarf<R<'a>>,
    unit: &gimli::Unit<R<'a>>,
    header: &gimli::LineProgramHeader<R<'a>>,
    index: u64,
) -> String {
    let Some(f) = header.file(index) else {
        return format!("<no file {index}>");
    };
    let name = attr_str(dw, unit, f.path_name());
    if name.starts_with('/') {
        return name;
    }
    match f.directory(header) {
        Some(d) => {
            let dir = attr_str(dw, unit, d);
            if dir.is_empty() {
                name
            } else {
                format!("{}/{name}", dir.trim_end_matches('/'))
            }
        }
        None => name,
    }
}

/// Every row of every line program of a module, in program order.
fn line_rows(w: &Wasm<'_>, paths: &mut Paths) -> Vec<Row> {
    let dw = w.dwarf();
    let mut out = Vec::new();
    let mut units = dw.units();
    while let Some(h) = units.next().expect("units parse") {
        let unit = dw.unit(h).expect("unit parses");
        let Some(program) = unit.line_program.clone() else {
            continue;
        };
        let mut files: HashMap<u64, u32> = HashMap::new();
        let mut rows = program.rows();
        let mut open = false;
        while let Some((header, row)) = rows.next_row().expect("line program parses") {
            let fi = row.file_index();
            let file = match files.get(&fi) {
                Some(&f) => f,
                None => {
                    let f = paths.id(file_path(&dw, &unit, header, fi));
                    files.insert(fi, f);
                    f
                }
            };
            out.push(Row {
                addr: row.address(),
                file,
                line: row.line().map_or(0, |l| l.get()),
                col: match row.column() {
                    gimli::ColumnType::LeftEdge => 0,
                    gimli::ColumnType::Column(c) => c.get(),
                },
                end: row.end_sequence(),
                lone: row.end_sequence() && !open,
            });
            open = !row.end_sequence();
        }
    }
    out
}

/// The map's entry for input `name`.
fn map_input<'m>(map: &'m Value, name: &str) -> &'m Value {
    map["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == name)
        .unwrap_or_else(|| panic!("no input {name} in the link map"))
}

/// Function indices of input `name` listed under `key` (`folded`,
/// `emptied`).
fn listed(map: &Value, key: &str, name: &str) -> HashSet<u64> {
    map[key]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|e| e["input"] == name)
                .map(|e| e["func"].as_u64().unwrap())
                .collect()
        })
        .unwrap_or_default()
}

/// Input `name`'s kept defined functions: defined index → output defined
/// index (not removed, not folded, not emptied).
fn kept_funcs(
    map: &Value,
    name: &str,
    w: &Wasm<'_>,
    out_imported: u32,
) -> HashMap<usize, Result<usize, String>> {
    let m = map_input(map, name);
    let funcs = m["funcs"].as_array().unwrap();
    assert_eq!(
        funcs.len(),
        w.imported_funcs as usize + w.bodies.len(),
        "{name}: the map's funcs list every function"
    );
    let folded = listed(map, "folded", name);
    let emptied = listed(map, "emptied", name);
    let mut out = HashMap::new();
    for d in 0..w.bodies.len() {
        let idx = w.imported_funcs as u64 + d as u64;
        let Some(o) = funcs[idx as usize].as_u64() else {
            continue;
        };
        if folded.contains(&idx) || emptied.contains(&idx) {
            continue;
        }
        let r = if o >= out_imported as u64 {
            Ok((o - out_imported as u64) as usize)
        } else {
            Err(format!("kept defined function {idx} maps to output import {o}"))
        };
        out.insert(d, r);
    }
    out
}

/// Input `name`'s folded defined functions: defined index → the output
/// defined index of the body they were folded into.
fn folded_funcs(map: &Value, name: &str, w: &Wasm<'_>, out_imported: u32) -> HashMap<usize, usize> {
    map["folded"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|e| e["input"] == name)
                .filter_map(|e| {
                    let f = e["func"].as_u64().unwrap();
                    let into = e["into"].as_u64().unwrap();
                    let d = f.checked_sub(w.imported_funcs as u64)?;
                    let od = into.checked_sub(out_imported as u64)?;
                    (into != TOMBSTONE).then_some((d as usize, od as usize))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Input address `a` of a body with operators `ops` and span `span`, moved
/// to the body with `out_ops`, `out_span` (same operator count): the
/// instruction of the same ordinal, or the body's start or end.
fn translate(a: u64, span: (u64, u64), ops: &[u64], out_span: (u64, u64), out_ops: &[u64]) -> Option<u64> {
    if a == span.0 {
        return Some(out_span.0);
    }
    if a == span.1 {
        return Some(out_span.1);
    }
    ops.binary_search(&a).ok().map(|i| out_ops[i])
}

/// What checking one output's line table against its inputs found.
#[derive(Default, Debug)]
struct LineCheck {
    /// Kept functions with rows, and of them the ones checked (same
    /// operator count in and out).
    kept_with_rows: usize,
    checked_funcs: usize,
    skipped: Vec<String>,
    rows_checked: usize,
    end_rows_checked: usize,
    /// The same for functions folded into another (their rows belong on
    /// the body kept in their place).
    folded_with_rows: usize,
    folded_checked: usize,
    /// Input rows (not lone ends) of kept or folded functions, and of
    /// removed ones.
    placed_rows: usize,
    gone_rows: usize,
    /// Rows of checked functions at no instruction boundary (inside the
    /// local declarations): not checkable here.
    untranslatable: usize,
    /// Input rows in no function (e.g. tombstoned by wasm-ld).
    input_orphans: usize,
    /// Input sequences of an end row alone (not checked: they cover no
    /// address).
    empty_sequences: usize,
    out_rows: usize,
    out_rows_in_bodies: usize,
    failures: Vec<String>,
    /// Per checked function: (input, function, first row's input address,
    /// its output address).
    firsts: Vec<(usize, usize, u64, u64)>,
}

impl LineCheck {
    fn fail(&mut self, s: String) {
        self.failures.push(s);
    }
}

fn show(paths: &Paths, r: &Row) -> String {
    if r.end {
        format!("end_sequence at {:#x}", r.addr)
    } else {
        format!(
            "{:#x} {}:{}:{}",
            r.addr, paths.names[r.file as usize], r.line, r.col
        )
    }
}

/// Checks `l`'s output line table against every input's (see the header).
fn check_lines(l: &Linked) -> LineCheck {
    let mut c = LineCheck::default();
    let mut paths = Paths::default();
    let out = Wasm::new(&l.out);
    assert!(out.has_dwarf(), "{}: the output has no .debug_info", l.set);
    let out_rows = line_rows(&out, &mut paths);
    let mut at: HashMap<u64, Vec<Row>> = HashMap::with_capacity(out_rows.len());
    for r in &out_rows {
        at.entry(r.addr).or_default().push(*r);
        c.out_rows += 1;
        if out.func_at(r.addr, r.end).is_some() {
            c.out_rows_in_bodies += 1;
        } else {
            c.fail(format!(
                "{}: output row {} lies in no output function body",
                l.set,
                show(&paths, r)
            ));
        }
    }
    let mut out_ops: HashMap<usize, Vec<u64>> = HashMap::new();
    for (k, input) in l.inputs.iter().enumerate() {
        let w = Wasm::new(&input.bytes);
        if !w.has_dwarf() {
            continue;
        }
        let rows = line_rows(&w, &mut paths);
        let kept = kept_funcs(&l.map, &input.name, &w, out.imported_funcs);
        let folded = folded_funcs(&l.map, &input.name, &w, out.imported_funcs);
        let mut by_func: Vec<Vec<usize>> = vec![Vec::new(); w.bodies.len()];
        for (i, r) in rows.iter().enumerate() {
            if r.lone {
                c.empty_sequences += 1;
                continue;
            }
            match w.func_at(r.addr, r.end) {
                Some(d) => by_func[d].push(i),
                None => c.input_orphans += 1,
            }
        }
        for (d, rows_of) in by_func.iter().enumerate() {
            if rows_of.is_empty() {
                continue;
            }
            let (o, is_folded) = match (kept.get(&d), folded.get(&d)) {
                (Some(o), _) => (o.clone(), false),
                (None, Some(od)) => (Ok(*od), true),
                (None, None) => {
                    c.gone_rows += rows_of.len();
                    continue;
                }
            };
            c.placed_rows += rows_of.len();
            if is_folded {
                c.folded_with_rows += 1;
            } else {
                c.kept_with_rows += 1;
            }
            let od = match o {
                Ok(od) => od,
                Err(e) => {
                    c.fail(format!("{}: {} {}: {e}", l.set, input.name, w.name(d)));
                    continue;
                }
            };
            let ops = w.ops(d);
            let o_ops = out_ops.entry(od).or_insert_with(|| out.ops(od));
            if ops.len() != o_ops.len() {
                c.skipped.push(format!(
                    "{} {} ({} operators in, {} out)",
                    input.name,
                    w.name(d),
                    ops.len(),
                    o_ops.len()
                ));
                continue;
            }
            if is_folded {
                c.folded_checked += 1;
            } else {
                c.checked_funcs += 1;
            }
            let mut first = None;
            for &i in rows_of {
                let r = &rows[i];
                let Some(a) = translate(r.addr, w.spans[d], &ops, out.spans[od], o_ops) else {
                    c.untranslatable += 1;
                    continue;
                };
                let found = at.get(&a).is_some_and(|v| {
                    v.iter().any(|x| {
                        if r.end {
                            x.end
                        } else {
                            !x.end && x.file == r.file && x.line == r.line && x.col == r.col
                        }
                    })
                });
                if r.end {
                    c.end_rows_checked += 1;
                } else {
                    c.rows_checked += 1;
                    if !is_folded {
                        first.get_or_insert((k, d, r.addr, a));
                    }
                }
                if !found {
                    let got: Vec<String> = at
                        .get(&a)
                        .map(|v| v.iter().map(|x| show(&paths, x)).collect())
                        .unwrap_or_default();
                    c.fail(format!(
                        "{}: input {} {}function {} (defined {d} -> output defined {od}, {}): row {} should be at output {a:#x}; output rows there: {got:?}",
                        l.set,
                        input.name,
                        if is_folded { "folded " } else { "" },
                        w.name(d),
                        out.name(od),
                        show(&paths, r)
                    ));
                }
            }
            c.firsts.extend(first);
        }
    }
    c
}

/// Runs `check_lines` and asserts everything it found.
fn assert_lines(l: &Linked) -> LineCheck {
    let started = Instant::now();
    let c = check_lines(l);
    eprintln!(
        "{}: {} kept functions with rows, {} checked ({} skipped: operator counts differ); {} folded with rows, {} checked; {} rows + {} sequence ends checked, {} untranslatable, {} input rows in no function, {} empty input sequences, {} rows of removed functions; {} output rows ({} expected: the kept and folded functions'), {} in bodies; {:.1?}",
        l.set,
        c.kept_with_rows,
        c.checked_funcs,
        c.skipped.len(),
        c.folded_with_rows,
        c.folded_checked,
        c.rows_checked,
        c.end_rows_checked,
        c.untranslatable,
        c.input_orphans,
        c.empty_sequences,
        c.gone_rows,
        c.out_rows,
        c.placed_rows,
        c.out_rows_in_bodies,
        started.elapsed()
    );
    for s in c.skipped.iter().take(10) {
        eprintln!("  skipped: {s}");
    }
    assert!(c.kept_with_rows > 0, "{}: no kept function has rows", l.set);
    // Removed functions' sequences are left out, nothing is added: one
    // output row per row of a kept or folded function.
    assert_eq!(
        c.out_rows, c.placed_rows,
        "{}: output rows vs rows of the kept and folded functions",
        l.set
    );
    assert!(
        c.rows_checked > 0 && c.end_rows_checked > 0,
        "{}: no row checked",
        l.set
    );
    assert!(
        c.checked_funcs * 5 >= c.kept_with_rows * 4,
        "{}: only {} of {} kept functions with rows could be checked",
        l.set,
        c.checked_funcs,
        c.kept_with_rows
    );
    assert!(
        c.untranslatable * 100 <= c.rows_checked,
        "{}: {} rows at no instruction boundary",
        l.set,
        c.untranslatable
    );
    assert!(
        c.failures.is_empty(),
        "{}: {} line table disagreements; the first:\n  {}",
        l.set,
        c.failures.len(),
        c.failures
            .iter()
            .take(15)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n  ")
    );
    c
}

#[test]
fn line_tables_agree_fuse_dwarf5() {
    let Some(l) = fuse_set("fuse-dwarf5") else { return };
    let c = assert_lines(&l);
    // mod_a's clamp_i32 is folded into mod_b's; b_unused and a_unused go.
    assert!(c.folded_checked > 0 && c.gone_rows > 0, "{c:?}");
}

#[test]
fn line_tables_agree_fuse_dwarf4() {
    let Some(l) = fuse_set("fuse-dwarf4") else { return };
    let c = assert_lines(&l);
    assert!(c.folded_checked > 0 && c.gone_rows > 0, "{c:?}");
}

#[test]
fn line_tables_agree_link_dwarf5() {
    let Some(l) = link_set() else { return };
    assert_lines(&l);
}

#[test]
fn line_tables_agree_through_flatten() {
    let Some(l) = flatten_set() else { return };
    assert!(l.inputs.len() >= 3, "the libraries' DWARF: {}", l.inputs.len());
    assert_lines(&l);
    if let Some(tool) = dwarfdump() {
        assert_verify(&tool, &l);
    }
}

// ---------------------------------------------------------------------------
// Function start addresses (DW_AT_low_pc).

/// (unit name, subprogram name) → `DW_AT_low_pc` values, each with its
/// `DW_AT_high_pc` (see [`low_pcs`]).
type LowPcs = HashMap<(String, String), Vec<(u64, Option<u64>)>>;

/// (unit name, subprogram name, or `<unit>` for the unit's own) → its
/// `DW_AT_low_pc` values (`.debug_addr` indices resolved), each with its
/// `DW_AT_high_pc` as an address when there is one.
fn low_pcs(w: &Wasm<'_>) -> LowPcs {
    let dw = w.dwarf();
    let mut out: LowPcs = HashMap::new();
    let mut units = dw.units();
    while let Some(h) = units.next().unwrap() {
        let unit = dw.unit(h).unwrap();
        let uname = unit
            .name
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut cur = unit.entries();
        while let Some(e) = cur.next_dfs().unwrap() {
            let name = match e.tag() {
                gimli::DW_TAG_compile_unit => "<unit>".to_string(),
                gimli::DW_TAG_subprogram => die_name(&dw, &unit, e),
                _ => continue,
            };
            let Some(v) = e.attr_value(gimli::DW_AT_low_pc) else {
                continue;
            };
            let Ok(Some(low)) = dw.attr_address(&unit, v) else {
                continue;
            };
            let high = e.attr_value(gimli::DW_AT_high_pc).and_then(|h| match h {
                gimli::AttributeValue::Addr(_) | gimli::AttributeValue::DebugAddrIndex(_) => {
                    dw.attr_address(&unit, h).ok().flatten()
                }
                h => h.udata_value().map(|n| low.wrapping_add(n)),
            });
            out.entry((uname.clone(), name)).or_default().push((low, high));
        }
    }
    out
}

/// Every input subprogram's (and single-function unit's) `DW_AT_low_pc`,
/// when it is the start of a function and its range lies in it, is that
/// body's start in the output when the function is kept, the tombstone
/// when it is removed or folded; an input tombstone (or 0) stays one.
/// Names whose low_pc this cannot tell (not a function start, a range past
/// its function) are not compared. Returns (checked, of them tombstoned).
fn check_low_pcs(l: &Linked) -> (usize, usize) {
    // 0 (no body starts there: the code section starts with its count) is
    // the old tombstone, which wasm-ld gives functions it drops.
    let tomb = |a: u64| {
        if a >= TOMBSTONE - 1 || a == 0 {
            TOMBSTONE
        } else {
            a
        }
    };
    let out = Wasm::new(&l.out);
    let got = low_pcs(&out);
    let mut want: HashMap<(String, String), Vec<u64>> = HashMap::new();
    let mut unsure: HashMap<(String, String), String> = HashMap::new();
    let (mut checked, mut tombstoned) = (0, 0);
    for input in &l.inputs {
        let w = Wasm::new(&input.bytes);
        if !w.has_dwarf() {
            continue;
        }
        let kept = kept_funcs(&l.map, &input.name, &w, out.imported_funcs);
        for (key, v) in low_pcs(&w) {
            for (a, high) in v {
                if a == 0 && key.1 == "<unit>" {
                    continue;
                }
                if tomb(a) == TOMBSTONE {
                    checked += 1;
                    want.entry(key.clone()).or_default().push(TOMBSTONE);
                    continue;
                }
                let d = w.func_at(a, false);
                let why = match d {
                    None => Some(format!("{a:#x} is in no function")),
                    Some(d) if w.spans[d].0 != a => Some(format!("{a:#x} is not the start of {}", w.name(d))),
                    Some(d) if high.is_some_and(|h| h < a || h > w.spans[d].1) => Some(format!(
                        "[{a:#x}, {:#x}) runs past {} (ends at {:#x})",
                        high.unwrap(),
                        w.name(d),
                        w.spans[d].1
                    )),
                    _ => None,
                };
                if let Some(why) = why {
                    unsure
                        .entry(key.clone())
                        .or_insert(format!("{}: {why}", input.name));
                    continue;
                }
                let d = d.unwrap();
                let to = match kept.get(&d) {
                    Some(Ok(od)) => out.spans[*od].0,
                    Some(Err(e)) => panic!("{}: {} {}: {e}", l.set, input.name, w.name(d)),
                    None => {
                        tombstoned += 1;
                        TOMBSTONE
                    }
                };
                checked += 1;
                want.entry(key.clone()).or_default().push(to);
            }
        }
    }
    let mut bad = Vec::new();
    let mut compared = 0;
    for (key, mut v) in want {
        if unsure.contains_key(&key) {
            continue;
        }
        compared += v.len();
        v.sort();
        let mut g: Vec<u64> = got
            .get(&key)
            .map(|g| g.iter().map(|p| tomb(p.0)).collect())
            .unwrap_or_default();
        g.sort();
        if g != v {
            bad.push(format!(
                "{key:?}: DW_AT_low_pc should be {v:x?}, the output has {g:x?}"
            ));
        }
    }
    bad.sort();
    let mut unsure: Vec<_> = unsure.into_iter().collect();
    unsure.sort();
    eprintln!(
        "{}: {checked} DW_AT_low_pc read ({tombstoned} of removed or folded functions), {compared} compared; {} names not compared, e.g. {:?}",
        l.set,
        unsure.len(),
        unsure.iter().take(3).collect::<Vec<_>>()
    );
    assert!(compared > 0, "{}: no DW_AT_low_pc compared", l.set);
    assert!(
        bad.is_empty(),
        "{}: {} DW_AT_low_pc disagree:\n  {}",
        l.set,
        bad.len(),
        bad.iter().take(15).cloned().collect::<Vec<_>>().join("\n  ")
    );
    (checked, tombstoned)
}

#[test]
fn function_start_addresses_follow_the_code() {
    for set in ["fuse-dwarf5", "fuse-dwarf4"] {
        let Some(l) = fuse_set(set) else { return };
        let (_, tombstoned) = check_low_pcs(&l);
        assert!(
            tombstoned > 0,
            "{set}: no removed or folded function had a DW_AT_low_pc"
        );
    }
    let Some(l) = link_set() else { return };
    check_low_pcs(&l);
}

// ---------------------------------------------------------------------------
// Variables in wasm globals.

/// (unit name, enclosing subprogram name, variable name or
/// `<frame_base>`) → the global indices of its `DW_OP_WASM_location`s.
type Globals = HashMap<(String, String, String), Vec<u64>>;

/// A DIE's name, through `DW_AT_abstract_origin` / `DW_AT_specification`.
fn die_name<'a>(
    dw: &gimli::Dwarf<R<'a>>,
    unit: &gimli::Unit<R<'a>>,
    e: &gimli::DebuggingInformationEntry<R<'a>>,
) -> String {
    if let Some(v) = e.attr_value(gimli::DW_AT_name) {
        return attr_str(dw, unit, v);
    }
    for a in [gimli::DW_AT_abstract_origin, gimli::DW_AT_specification] {
        if let Some(gimli::AttributeValue::UnitRef(o)) = e.attr_value(a) {
            if let Ok(t) = unit.entry(o) {
                return die_name(dw, unit, &t);
            }
        }
    }
    String::new()
}

fn wasm_globals(w: &Wasm<'_>) -> Globals {
    let dw = w.dwarf();
    let mut out = Globals::new();
    let mut units = dw.units();
    while let Some(h) = units.next().unwrap() {
        let unit = dw.unit(h).unwrap();
        let uname = unit
            .name
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut stack: Vec<(isize, String)> = Vec::new();
        let mut cur = unit.entries();
        while let Some(e) = cur.next_dfs().unwrap() {
            while stack.last().is_some_and(|(d, _)| *d >= e.depth()) {
                stack.pop();
            }
            if e.tag() == gimli::DW_TAG_subprogram {
                stack.push((e.depth(), die_name(&dw, &unit, e)));
            }
            for at in [gimli::DW_AT_location, gimli::DW_AT_frame_base] {
                let Some(gimli::AttributeValue::Exprloc(x)) = e.attr_value(at) else {
                    continue;
                };
                let mut ops = x.operations(unit.encoding());
                while let Ok(Some(op)) = ops.next() {
                    if let gimli::Operation::WasmGlobal { index } = op {
                        let var = if at == gimli::DW_AT_frame_base {
                            "<frame_base>".to_string()
                        } else {
                            die_name(&dw, &unit, e)
                        };
                        let sub = stack.last().map(|s| s.1.clone()).unwrap_or_default();
                        out.entry((uname.clone(), sub, var))
                            .or_default()
                            .push(index as u64);
                    }
                }
            }
        }
    }
    out
}

fn check_globals(l: &Linked) -> (usize, usize) {
    let out = wasm_globals(&Wasm::new(&l.out));
    let mut want = Globals::new();
    let (mut found, mut moved) = (0, 0);
    for input in &l.inputs {
        let w = Wasm::new(&input.bytes);
        if !w.has_dwarf() {
            continue;
        }
        let globals = map_input(&l.map, &input.name)["globals"]
            .as_array()
            .unwrap()
            .clone();
        for (key, v) in wasm_globals(&w) {
            for g in v {
                if g == TOMBSTONE {
                    continue;
                }
                found += 1;
                let to = globals
                    .get(g as usize)
                    .unwrap_or_else(|| panic!("{}: {key:?}: global {g} not in the map", l.set))
                    .as_u64()
                    .unwrap_or(TOMBSTONE);
                if to != g {
                    moved += 1;
                }
                want.entry(key.clone()).or_default().push(to);
            }
        }
    }
    let mut bad = Vec::new();
    for (key, mut v) in want {
        v.sort();
        let mut got = out.get(&key).cloned().unwrap_or_default();
        got.retain(|g| *g != TOMBSTONE || v.contains(g));
        got.sort();
        if got != v {
            bad.push(format!("{key:?}: want globals {v:?}, output has {got:?}"));
        }
    }
    eprintln!("{}: {found} DW_OP_WASM_location globals, {moved} moved", l.set);
    assert!(bad.is_empty(), "{}: {}", l.set, bad.join("\n  "));
    (found, moved)
}

#[test]
fn wasm_global_locations_follow_the_map() {
    for set in ["fuse-dwarf5", "fuse-dwarf4"] {
        let Some(l) = fuse_set(set) else { return };
        let (found, moved) = check_globals(&l);
        assert!(found > 0, "{set}: no DW_OP_WASM_location global in the inputs");
        assert!(moved > 0, "{set}: no global moved, so nothing was shown");
    }
    let Some(l) = link_set() else { return };
    let (found, _) = check_globals(&l);
    assert!(
        found > 0,
        "link-dwarf5: no DW_OP_WASM_location global in the inputs"
    );
}

// ---------------------------------------------------------------------------
// llvm-dwarfdump --verify and llvm-symbolizer.

/// The error kinds `llvm-dwarfdump --verify` reports (error lines with
/// numbers, addresses and quoted names stripped), and whether it said "No
/// errors.".
fn verify(tool: &Path, path: &Path) -> (BTreeSet<String>, bool, String) {
    let o = Command::new(tool).arg("--verify").arg(path).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        text.contains("Verifying unit:"),
        "{}: llvm-dwarfdump verified no unit:\n{text}",
        path.display()
    );
    let kinds = text
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("error:"))
        .map(|l| {
            let mut s = String::new();
            let mut quoted = false;
            let mut chars = l.chars().peekable();
            while let Some(ch) = chars.next() {
                match ch {
                    '"' => {
                        quoted = !quoted;
                        if quoted {
                            s.push_str("\"…\"");
                        }
                    }
                    _ if quoted => {}
                    '0' if chars.peek() == Some(&'x') => {
                        chars.next();
                        while chars.peek().is_some_and(|c| c.is_ascii_hexdigit()) {
                            chars.next();
                        }
                        s.push('#');
                    }
                    c if c.is_ascii_digit() => {
                        while chars.peek().is_some_and(|c| c.is_ascii_digit()) {
                            chars.next();
                        }
                        s.push('#');
                    }
                    c => s.push(c),
                }
            }
            s
        })
        .collect();
    (kinds, text.contains("No errors."), text)
}

/// The output's verify error kinds are among the inputs'.
fn assert_verify(tool: &Path, l: &Linked) {
    let dir = l.dir.path();
    let mut want = BTreeSet::new();
    let mut all_clean = true;
    let mut n = 0;
    for (k, input) in l.inputs.iter().enumerate() {
        if !Wasm::new(&input.bytes).has_dwarf() {
            continue;
        }
        let p = dir.join(format!("in{k}.wasm"));
        std::fs::write(&p, for_llvm16(&input.bytes)).unwrap();
        let started = Instant::now();
        let (kinds, clean, _) = verify(tool, &p);
        eprintln!(
            "{}: verify {}: {} error kinds, {}; {:.1?}",
            l.set,
            input.path.display(),
            kinds.len(),
            if clean { "No errors." } else { "errors" },
            started.elapsed()
        );
        all_clean &= clean;
        want.extend(kinds);
        n += 1;
    }
    assert!(n > 0, "{}: no input has DWARF", l.set);
    let p = dir.join("out-llvm16.wasm");
    std::fs::write(&p, for_llvm16(&l.out)).unwrap();
    let started = Instant::now();
    let (got, clean, text) = verify(tool, &p);
    eprintln!(
        "{}: verify output: {} error kinds {:?}; {:.1?}",
        l.set,
        got.len(),
        got,
        started.elapsed()
    );
    let new: Vec<_> = got.difference(&want).collect();
    assert!(
        new.is_empty(),
        "{}: llvm-dwarfdump --verify finds error kinds in the output that no input has: {new:?}\n{}",
        l.set,
        text.lines()
            .filter(|l| l.contains("error:"))
            .take(20)
            .collect::<Vec<_>>()
            .join("\n")
    );
    if all_clean {
        assert!(
            clean,
            "{}: the inputs verify clean, the output does not:\n{text}",
            l.set
        );
    }
}

#[test]
fn dwarfdump_verify_finds_nothing_new() {
    let Some(tool) = dwarfdump() else { return };
    for set in ["fuse-dwarf5", "fuse-dwarf4"] {
        let Some(l) = fuse_set(set) else { return };
        assert_verify(&tool, &l);
    }
    let Some(l) = link_set() else { return };
    assert_verify(&tool, &l);
}

/// llvm-symbolizer's answer for each address (one block each).
fn symbolize(tool: &Path, obj: &Path, addrs: &[u64]) -> Vec<String> {
    let o = Command::new(tool)
        .arg(format!("--obj={}", obj.display()))
        .args(addrs.iter().map(|a| format!("{a:#x}")))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}: {}", obj.display(), stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    let blocks: Vec<String> = text
        .split("\n\n")
        .map(|b| b.trim().to_string())
        .filter(|b| !b.is_empty())
        .collect();
    assert_eq!(blocks.len(), addrs.len(), "{}: {text}", obj.display());
    blocks
}

fn assert_symbolizer(tool: &Path, l: &Linked) {
    let c = check_lines(l);
    let dir = l.dir.path();
    let out = dir.join("out-llvm16.wasm");
    std::fs::write(&out, for_llvm16(&l.out)).unwrap();
    let mut n = 0;
    let mut bad = Vec::new();
    for (k, input) in l.inputs.iter().enumerate() {
        let firsts: Vec<_> = c.firsts.iter().filter(|f| f.0 == k).collect();
        if firsts.is_empty() {
            continue;
        }
        let p = dir.join(format!("in{k}.wasm"));
        std::fs::write(&p, for_llvm16(&input.bytes)).unwrap();
        let want = symbolize(tool, &p, &firsts.iter().map(|f| f.2).collect::<Vec<_>>());
        let got = symbolize(tool, &out, &firsts.iter().map(|f| f.3).collect::<Vec<_>>());
        for ((f, w), g) in firsts.iter().zip(&want).zip(&got) {
            assert!(
                !w.starts_with("??"),
                "{}: the input itself does not symbolize {:#x}: {w}",
                input.name,
                f.2
            );
            n += 1;
            if w != g {
                bad.push(format!(
                    "{} function {} (defined {}) at {:#x} (output {:#x}): input says {w:?}, output says {g:?}",
                    input.name,
                    Wasm::new(&input.bytes).name(f.1),
                    f.1,
                    f.2,
                    f.3
                ));
            }
        }
    }
    eprintln!("{}: {n} functions symbolized, {} differ", l.set, bad.len());
    assert!(n > 0, "{}: nothing symbolized", l.set);
    assert!(bad.is_empty(), "{}:\n  {}", l.set, bad.join("\n  "));
}

#[test]
fn symbolizer_answers_the_same() {
    let Some(tool) = symbolizer() else { return };
    for set in ["fuse-dwarf5", "fuse-dwarf4"] {
        let Some(l) = fuse_set(set) else { return };
        assert_symbolizer(&tool, &l);
    }
    let Some(l) = link_set() else { return };
    assert_symbolizer(&tool, &l);
}

// ---------------------------------------------------------------------------
// Behaviour.

#[test]
fn fused_debug_module_runs_like_its_inputs() {
    let Some(l) = fuse_set("fuse-dwarf5") else { return };
    let inputs: Vec<(&str, &[u8])> = l.inputs.iter().map(|i| (i.name.as_str(), &i.bytes[..])).collect();
    assert!(inputs.iter().any(|(n, _)| *n == "main"));
    let want = common::exec::run_separately(&inputs, &[0, 1, 2]);
    let got = common::exec::run_fused(&inputs, &l.out);
    let n = common::exec::same(&want, &got).unwrap_or_else(|e| panic!("fuse-dwarf5: {e}"));
    assert!(
        want.calls
            .iter()
            .any(|(name, r)| name == "run" && r.starts_with("ok")),
        "run was not called: {want:?}"
    );
    eprintln!("fuse-dwarf5: {n} calls agree: {:?}", got.calls);
    assert!(n > 0);
    // The other outputs validate (fuse and link validate theirs on the way).
    if let Some(l) = fuse_set("fuse-dwarf4") {
        validate("fuse-dwarf4", &l.out);
    }
    if let Some(l) = link_set() {
        validate("link-dwarf5", &l.out);
    }
}

// ---------------------------------------------------------------------------
// ruby-debug, a real debug build (DWARF 4).

#[test]
fn ruby_debug_line_tables_agree() {
    let Some(ruby) = common::real_binary("ruby-debug") else {
        return;
    };
    let started = Instant::now();
    let l = fuse("ruby-debug", std::slice::from_ref(&ruby), &[]);
    eprintln!("ruby-debug: fused in {:.1?}", started.elapsed());
    assert_lines(&l);
    let started = Instant::now();
    check_low_pcs(&l);
    eprintln!("ruby-debug: DW_AT_low_pc checked in {:.1?}", started.elapsed());
    if let Some(tool) = dwarfdump() {
        assert_verify(&tool, &l);
    }
    // With the fuse-dwarf5 set: four inputs' DWARF in one output.
    let Some(dir) = debug_set("fuse-dwarf5", &FUSE_FILES) else {
        return;
    };
    let mut files = vec![ruby];
    files.extend(FUSE_FILES.iter().map(|f| dir.join(f)));
    let started = Instant::now();
    let l = fuse("ruby-debug+fuse-dwarf5", &files, &["--on-conflict", "rename"]);
    eprintln!("ruby-debug+fuse-dwarf5: fused in {:.1?}", started.elapsed());
    let c = assert_lines(&l);
    assert!(
        c.firsts.iter().any(|f| f.0 == 0) && c.firsts.iter().any(|f| f.0 > 0),
        "rows of both ruby and the set were checked"
    );
    if let Some(tool) = dwarfdump() {
        assert_verify(&tool, &l);
    }
}

// ---------------------------------------------------------------------------
// Bad input.

/// A DWARF section's payload in a module.
fn custom<'a>(bytes: &'a [u8], name: &str) -> &'a [u8] {
    Wasm::new(bytes)
        .customs
        .get(name)
        .copied()
        .unwrap_or_else(|| panic!("no {name}"))
}

/// Where the operand of the first `DW_LNE_set_address` of the line program
/// at `at` is.
fn first_set_address(b: &[u8], mut at: usize, opcode_base: u8, lengths: &[u8]) -> Option<usize> {
    fn uleb(b: &[u8], at: &mut usize) -> usize {
        let (mut v, mut s) = (0usize, 0);
        loop {
            let c = b[*at];
            *at += 1;
            v |= ((c & 0x7f) as usize) << s;
            s += 7;
            if c & 0x80 == 0 {
                return v;
            }
        }
    }
    while at < b.len() {
        let op = b[at];
        at += 1;
        match op {
            0 => {
                let len = uleb(b, &mut at);
                if b[at] == 2 {
                    return Some(at + 1);
                }
                at += len;
            }
            op if op >= opcode_base => {}
            9 => at += 2, // DW_LNS_fixed_advance_pc: a u16
            op => {
                for _ in 0..lengths[op as usize - 1] {
                    uleb(b, &mut at);
                }
            }
        }
    }
    None
}

/// Fuses `bad` as mod_b with the set's mod_a and main: must fail with one
/// line naming the file, `section` and an offset, and write nothing.
fn assert_bad(dir: &Path, what: &str, bad: &[u8], sections: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let b = tmp.path().join("mod_b.wasm");
    std::fs::write(&b, bad).unwrap();
    let out = tmp.path().join("out.wasm");
    let o = common::weld(&[
        "fuse".into(),
        b.display().to_string(),
        dir.join("mod_a.wasm").display().to_string(),
        dir.join("main.wasm").display().to_string(),
        "-o".into(),
        out.display().to_string(),
    ]);
    let e = stderr(&o);
    eprintln!("{what}: {}", e.trim_end());
    assert!(!o.status.success(), "{what}: weld fuse succeeded");
    assert!(!e.contains("panicked"), "{what}: weld panicked: {e}");
    assert!(!out.exists(), "{what}: a failed fuse wrote its output");
    assert_eq!(e.trim_end().lines().count(), 1, "{what}: not one line: {e}");
    assert!(
        e.contains(&b.display().to_string()),
        "{what}: the input is not named: {e}"
    );
    assert!(
        sections
            .iter()
            .any(|s| e.contains(&format!("custom section `{s}`"))),
        "{what}: no section of {sections:?} named: {e}"
    );
    assert!(e.contains("at offset 0x"), "{what}: no offset: {e}");
}

#[test]
fn bad_dwarf_is_a_one_line_error() {
    let Some(dir) = debug_set("fuse-dwarf5", &FUSE_FILES) else {
        return;
    };
    let good = std::fs::read(dir.join("mod_b.wasm")).unwrap();

    // (a) .debug_info cut in half.
    let info = custom(&good, ".debug_info");
    let half = info[..info.len() / 2].to_vec();
    let bad = rebuild(&good, |_, n, _| match n {
        Some(".debug_info") => Edit::Custom(half.clone()),
        _ => Edit::Keep,
    });
    assert_bad(&dir, "truncated .debug_info", &bad, &[".debug_info"]);

    // (b) The first line sequence moved so that its first row is the last
    // byte of its function and every later row past it.
    let w = Wasm::new(&good);
    let line = custom(&good, ".debug_line");
    let dw = w.dwarf();
    let unit = dw.unit(dw.units().next().unwrap().unwrap()).unwrap();
    let program = unit.line_program.clone().unwrap();
    let header = program.header();
    let start = header
        .raw_program_buf()
        .offset_from(EndianSlice::new(line, LittleEndian));
    let at = first_set_address(
        line,
        start,
        header.opcode_base(),
        header.standard_opcode_lengths().slice(),
    )
    .expect("mod_b's line program sets an address");
    assert_eq!(&line[at - 3..at], &[0, 5, 2], "DW_LNE_set_address with 4 bytes");
    let set = u32::from_le_bytes(line[at..at + 4].try_into().unwrap()) as u64;
    let mut rows = program.rows();
    let mut seq = Vec::new();
    while let Some((_, r)) = rows.next_row().unwrap() {
        if r.end_sequence() {
            break;
        }
        seq.push(r.address());
    }
    assert!(seq.len() > 1 && seq.iter().all(|a| *a >= seq[0]), "{seq:x?}");
    let d = w.func_at(seq[0], false).expect("the first row is in a function");
    let shift = w.spans[d].1 - 1 - seq[0];
    assert!(seq.iter().skip(1).any(|a| a + shift >= w.spans[d].1));
    let mut patched = line.to_vec();
    patched[at..at + 4].copy_from_slice(&((set + shift) as u32).to_le_bytes());
    let bad = rebuild(&good, |_, n, _| match n {
        Some(".debug_line") => Edit::Custom(patched.clone()),
        _ => Edit::Keep,
    });
    assert_bad(&dir, "row past its function", &bad, &[".debug_line"]);

    // (c) No .debug_abbrev.
    let bad = rebuild(&good, |_, n, _| match n {
        Some(".debug_abbrev") => Edit::Drop,
        _ => Edit::Keep,
    });
    assert_bad(&dir, "no .debug_abbrev", &bad, &[".debug_abbrev", ".debug_info"]);

    // (d) DWARF version 9 in the first unit's header.
    let mut v9 = info.to_vec();
    assert_eq!(
        u16::from_le_bytes([v9[4], v9[5]]),
        5,
        "mod_b's first unit is DWARF 5"
    );
    v9[4..6].copy_from_slice(&9u16.to_le_bytes());
    let bad = rebuild(&good, |_, n, _| match n {
        Some(".debug_info") => Edit::Custom(v9.clone()),
        _ => Edit::Keep,
    });
    assert_bad(&dir, "DWARF version 9", &bad, &[".debug_info"]);
}

// ---------------------------------------------------------------------------
// --strip-debug.

fn debug_sections(bytes: &[u8]) -> Vec<String> {
    sections(bytes)
        .into_iter()
        .filter_map(|(_, n, _)| n)
        .filter(|n| n.starts_with(".debug_"))
        .collect()
}

#[test]
fn strip_debug_drops_dwarf_silently() {
    let Some(dir) = debug_set("fuse-dwarf5", &FUSE_FILES) else {
        return;
    };
    // mod_b with a debug section weld does not rewrite: a warning without
    // --strip-debug, so its absence with it shows something.
    let tmp = tempfile::tempdir().unwrap();
    let good = std::fs::read(dir.join("mod_b.wasm")).unwrap();
    let mut m = wasm_encoder::Module::new();
    for (id, _, range) in sections(&good) {
        m.section(&wasm_encoder::RawSection {
            id,
            data: &good[range],
        });
    }
    m.section(&wasm_encoder::CustomSection {
        name: ".debug_frame".into(),
        data: vec![0u8; 4].into(),
    });
    let extra = m.finish();
    let b = tmp.path().join("mod_b.wasm");
    std::fs::write(&b, &extra).unwrap();
    let files = vec![b, dir.join("mod_a.wasm"), dir.join("main.wasm")];
    let kept = fuse("fuse-dwarf5 + .debug_frame", &files, &[]);
    eprintln!("without --strip-debug: {}", kept.stderr.trim_end());
    assert!(
        kept.stderr.contains(".debug_frame"),
        "no warning about .debug_frame: {}",
        kept.stderr
    );
    assert!(!debug_sections(&kept.out).is_empty());

    let stripped = fuse("fuse-dwarf5 --strip-debug", &files, &["--strip-debug"]);
    assert_eq!(
        debug_sections(&stripped.out),
        Vec::<String>::new(),
        "fuse --strip-debug"
    );
    assert_eq!(stripped.stderr, "", "fuse --strip-debug prints nothing");
    assert!(stripped.out.len() < kept.out.len());

    let Some(dir) = debug_set("link-dwarf5", &LINK_FILES) else {
        return;
    };
    let Some(libc) = libc() else { return };
    let mut files: Vec<PathBuf> = LINK_FILES.iter().map(|f| dir.join(f)).collect();
    files.push(libc);
    let l = link("link-dwarf5 --strip-debug", &files, &["--strip-debug"]);
    assert_eq!(debug_sections(&l.out), Vec::<String>::new(), "link --strip-debug");
    assert!(
        !l.stderr.to_lowercase().contains("debug") && !l.stderr.contains("DWARF"),
        "link --strip-debug warns about debug information: {}",
        l.stderr
    );
}

// ---------------------------------------------------------------------------
// Source maps.

/// The srcmap set: (lib.wasm, app.wasm) with their maps beside them.
fn srcmap_set() -> Option<PathBuf> {
    let dir = common::cache().join("debug/srcmap");
    let ready = ["lib.wasm", "lib.wasm.map", "app.wasm", "app.wasm.map"]
        .iter()
        .all(|f| dir.join(f).is_file());
    if !ready {
        missing(&format!(
            "{} not built (run corpus/build-debug srcmap)",
            dir.display()
        ));
        return None;
    }
    Some(dir)
}

#[test]
fn source_maps_move_with_the_code() {
    let Some(dir) = srcmap_set() else { return };
    let files = [dir.join("lib.wasm"), dir.join("app.wasm")];
    let tmp = tempfile::tempdir().unwrap();
    let (out_path, map_path, link_map) = (
        tmp.path().join("out.wasm"),
        tmp.path().join("out.wasm.map"),
        tmp.path().join("map.json"),
    );
    let mut args: Vec<String> = vec!["fuse".into()];
    args.extend(files.iter().map(|p| p.display().to_string()));
    for (flag, p) in [
        ("-o", &out_path),
        ("--output-source-map", &map_path),
        ("--map", &link_map),
    ] {
        args.extend([flag.to_string(), p.display().to_string()]);
    }
    let o = common::weld(&args);
    assert!(o.status.success(), "weld {args:?}: {}", stderr(&o));
    let out = std::fs::read(&out_path).unwrap();
    validate("srcmap", &out);
    let w_out = Wasm::new(&out);
    // The output names its map, by file name.
    let url = w_out
        .customs
        .get("sourceMappingURL")
        .expect("the output has a sourceMappingURL");
    assert_eq!(&url[1..], b"out.wasm.map", "sourceMappingURL");
    let map: Value = serde_json::from_slice(&std::fs::read(&link_map).unwrap()).unwrap();
    let out_map = sourcemap::SourceMap::from_slice(&std::fs::read(&map_path).unwrap()).unwrap();
    let mut at: HashMap<u32, Vec<(u32, u32, Option<String>)>> = HashMap::new();
    for t in out_map.tokens() {
        assert_eq!(t.get_dst_line(), 0, "a Wasm source map has one generated line");
        at.entry(t.get_dst_col()).or_default().push((
            t.get_src_line(),
            t.get_src_col(),
            t.get_source().map(str::to_string),
        ));
    }
    let (mut checked, mut gone, mut failures) = (0usize, 0usize, Vec::new());
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        let w = Wasm::new(&bytes);
        let name = f.file_stem().unwrap().to_str().unwrap();
        let kept = kept_funcs(&map, name, &w, w_out.imported_funcs);
        let input_map =
            sourcemap::SourceMap::from_slice(&std::fs::read(f.with_extension("wasm.map")).unwrap()).unwrap();
        let mut n_in = 0;
        for t in input_map.tokens() {
            n_in += 1;
            let a = t.get_dst_col() as u64 - w.code_start;
            let Some(d) = w.func_at(a, false) else {
                failures.push(format!(
                    "{name}: mapping at {:#x} is in no function",
                    t.get_dst_col()
                ));
                continue;
            };
            let Some(Ok(od)) = kept.get(&d) else {
                gone += 1;
                continue;
            };
            let (ops, out_ops) = (w.ops(d), w_out.ops(*od));
            assert_eq!(ops.len(), out_ops.len(), "{name}: function {d}'s operators");
            let Some(oa) = translate(a, w.spans[d], &ops, w_out.spans[*od], &out_ops) else {
                failures.push(format!("{name}: mapping at {a:#x} is at no instruction"));
                continue;
            };
            let col = (w_out.code_start + oa) as u32;
            let want = (
                t.get_src_line(),
                t.get_src_col(),
                t.get_source().map(str::to_string),
            );
            if at.get(&col).is_some_and(|v| v.contains(&want)) {
                checked += 1;
            } else {
                failures.push(format!(
                    "{name}: mapping {want:?} at {:#x} should be at {col:#x}; there: {:?}",
                    t.get_dst_col(),
                    at.get(&col)
                ));
            }
        }
        let debug = &map_input(&map, name)["debug"];
        assert_eq!(
            debug["source_map_kept"], true,
            "{name}: link map debug.source_map_kept"
        );
        assert_eq!(
            debug["source_map_in"].as_u64(),
            Some(n_in),
            "{name}: link map debug.source_map_in"
        );
    }
    println!("srcmap: {checked} mappings found moved, {gone} of removed functions");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= 10, "too few mappings checked: {checked}");
    assert_eq!(
        out_map.get_token_count() as usize,
        checked,
        "the output's map holds exactly the kept mappings"
    );
}

#[test]
fn link_map_reports_debug_information() {
    let Some(l) = fuse_set("fuse-dwarf5") else { return };
    let mut tombstoned = 0;
    for input in &l.inputs {
        let d = &map_input(&l.map, &input.name)["debug"];
        assert_eq!(d["dwarf_kept"], true, "{}: dwarf_kept", input.name);
        let w = Wasm::new(&input.bytes);
        let dwarf_in: u64 = w
            .customs
            .iter()
            .filter(|(n, _)| n.starts_with(".debug_"))
            .map(|(_, b)| b.len() as u64)
            .sum();
        assert_eq!(d["dwarf_in"].as_u64(), Some(dwarf_in), "{}: dwarf_in", input.name);
        assert!(d["dwarf_out"].as_u64().unwrap() > 0, "{}: dwarf_out", input.name);
        assert_eq!(d["source_map_kept"], false, "{}: no source map", input.name);
        tombstoned += d["tombstoned"].as_u64().unwrap();
    }
    // mod_a's and mod_b's unused functions are removed, clamp_i32 folded.
    assert!(tombstoned >= 2, "tombstoned ranges: {tombstoned}");
    // Without debug information kept, the map says nothing of it.
    let dir = debug_set("fuse-dwarf5", &FUSE_FILES).unwrap();
    let files: Vec<PathBuf> = FUSE_FILES.iter().map(|f| dir.join(f)).collect();
    let stripped = fuse("fuse-dwarf5 stripped", &files, &["--strip-debug"]);
    assert!(
        stripped.map["inputs"][0].get("debug").is_none(),
        "no debug report with --strip-debug"
    );
}

#[test]
fn split_dwarf_reference_is_kept_with_a_note() {
    let Some(dir) = debug_set("fuse-dwarf5", &FUSE_FILES) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for f in FUSE_FILES {
        let mut bytes = std::fs::read(dir.join(f)).unwrap();
        if f == "mod_a.wasm" {
            // An `external_debug_info` section: a name-like string.
            let mut m = wasm_encoder::Module::new();
            let mut payload = Vec::new();
            wasm_encoder::Encode::encode("mod_a.debug.wasm", &mut payload);
            m.section(&wasm_encoder::CustomSection {
                name: "external_debug_info".into(),
                data: payload.into(),
            });
            bytes.extend_from_slice(&m.finish()[8..]);
        }
        let p = tmp.path().join(f);
        std::fs::write(&p, bytes).unwrap();
        files.push(p);
    }
    let l = fuse("split reference", &files, &[]);
    let out = Wasm::new(&l.out);
    let kept = out
        .customs
        .get("external_debug_info")
        .expect("the reference is kept");
    assert_eq!(&kept[1..], b"mod_a.debug.wasm");
    assert!(
        l.stderr
            .contains("mod_a.wasm: kept its split-DWARF reference `external_debug_info`"),
        "a note says so: {}",
        l.stderr
    );
    // The rest of the DWARF is kept as ever.
    assert!(out.has_dwarf());
}

#[test]
fn source_map_for_no_input_is_an_error() {
    let Some(dir) = srcmap_set() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out.wasm");
    let args = [
        "fuse".to_string(),
        dir.join("lib.wasm").display().to_string(),
        dir.join("app.wasm").display().to_string(),
        "-o".into(),
        out.display().to_string(),
        "--output-source-map".into(),
        tmp.path().join("out.wasm.map").display().to_string(),
        "--source-map".into(),
        format!("nosuch={}", dir.join("lib.wasm.map").display()),
    ];
    let o = common::weld(&args);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("source map of nosuch: no input has this name"),
        "{err}"
    );
    assert!(!out.exists(), "nothing written");
}

// ---------------------------------------------------------------------------
// `--merge-memories`: code moves by more than its indices, data by a base.

/// Each function's line rows (file, line, column, end), in address order,
/// by defined function index; and how many rows lie at no operator
/// boundary of their body.
/// A row without its address: file, line, column, end of sequence.
type RowText = (u32, u64, u64, bool);

fn rows_by_func(w: &Wasm<'_>, paths: &mut Paths) -> (Vec<Vec<RowText>>, usize) {
    let mut out = vec![Vec::new(); w.bodies.len()];
    let starts: Vec<HashSet<u64>> = (0..w.bodies.len())
        .map(|d| w.ops(d).into_iter().collect())
        .collect();
    let mut off_boundary = 0;
    for r in line_rows(w, paths) {
        if r.lone || r.addr == TOMBSTONE {
            continue;
        }
        let Some(d) = w.func_at(r.addr, r.end) else {
            continue;
        };
        if !r.end && !starts[d].contains(&r.addr) {
            off_boundary += 1;
        }
        out[d].push((r.file, r.line, r.col, r.end));
    }
    (out, off_boundary)
}

/// Every variable's data address (`DW_OP_addr`, or `DW_OP_addrx` through
/// `.debug_addr`), by (unit, name).
fn data_addresses(w: &Wasm<'_>) -> HashMap<(String, String), u64> {
    let dw = w.dwarf();
    let mut out = HashMap::new();
    let mut units = dw.units();
    while let Some(h) = units.next().unwrap() {
        let unit = dw.unit(h).unwrap();
        let uname = unit
            .name
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut cur = unit.entries();
        while let Some(e) = cur.next_dfs().unwrap() {
            if e.tag() != gimli::DW_TAG_variable {
                continue;
            }
            let Some(gimli::AttributeValue::Exprloc(x)) = e.attr_value(gimli::DW_AT_location) else {
                continue;
            };
            let mut ops = x.operations(unit.encoding());
            while let Ok(Some(op)) = ops.next() {
                let a = match op {
                    gimli::Operation::Address { address } => address,
                    gimli::Operation::AddressIndex { index } => dw.address(&unit, index).unwrap(),
                    _ => continue,
                };
                out.insert((uname.clone(), die_name(&dw, &unit, e)), a);
            }
        }
    }
    out
}

/// The DWARF sets fused with every memory merged into one: each function
/// has the line rows it has without merging (checked against the inputs by
/// the tests above), each at an instruction of its body; every global
/// variable's address moved by its input's base; nothing new for
/// llvm-dwarfdump --verify. (tests/runtime/tests/merge_memories.rs runs
/// merged modules against their inputs.)
#[test]
fn merged_memories_keep_line_tables_and_move_data_addresses() {
    for set in ["fuse-dwarf5", "fuse-dwarf4"] {
        let Some(plain) = fuse_set(set) else { return };
        let files: Vec<PathBuf> = plain.inputs.iter().map(|i| i.path.clone()).collect();
        // One memory may stay exported (the others' exports are dropped).
        let keep = "--exports=memory,run,a_mix,a_stack,b_poly,b_window";
        let merged = fuse(set, &files, &["--merge-memories", keep]);
        let mut paths = Paths::default();
        let (want, plain_off) = rows_by_func(&Wasm::new(&plain.out), &mut paths);
        let (got, off) = rows_by_func(&Wasm::new(&merged.out), &mut paths);
        assert_eq!(want.len(), got.len(), "{set}: function count");
        let rows: usize = got.iter().map(Vec::len).sum();
        assert!(rows > 0, "{set}: no rows");
        for (d, (w, g)) in want.iter().zip(&got).enumerate() {
            assert_eq!(w, g, "{set}: rows of function {d}");
        }
        assert_eq!(
            off, plain_off,
            "{set}: rows at no instruction boundary, merged vs not"
        );

        // Data addresses: each input's moved by its memory's base.
        let mut moved = 0;
        let out = data_addresses(&Wasm::new(&merged.out));
        for input in &merged.inputs {
            let base = map_input(&merged.map, &input.name)["memory_bases"][0]
                .as_u64()
                .unwrap_or_else(|| panic!("{set}: no memory base for {}", input.name));
            for (key, a) in data_addresses(&Wasm::new(&input.bytes)) {
                assert_eq!(
                    out.get(&key),
                    Some(&(a + base)),
                    "{set}: {key:?} at {a:#x}, base {base:#x}"
                );
                moved += usize::from(base != 0);
            }
        }
        assert!(moved > 0, "{set}: no variable of an input with a non-zero base");
        eprintln!("{set}: {rows} rows per function as without merging; {moved} data addresses moved");
        if let Some(tool) = dwarfdump() {
            assert_verify(&tool, &merged);
        }
    }
}

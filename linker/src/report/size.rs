//! `weld size`: where the bytes of a module or component go, as a tree.
//!
//! component → nested components and core modules → sections → function
//! bodies and data segments. Every byte of the file is in exactly one leaf
//! (headers, section ids and sizes, vector counts included), so the leaves
//! sum to the file's size. A nested module or component whose bytes
//! appeared before (blake3) is one leaf marked with the path of its first
//! place. Bytes that do not parse are one leaf marked unreadable: the rest
//! of the tree is still reported. Zero-copy; one walk of each section;
//! nested modules and components in parallel.

use std::collections::HashMap;

use rayon::prelude::*;

use wasmparser::{BinaryReader, Chunk, Name, NameSectionReader, Parser, Payload};
use weld_format::sections::{module_section_name, COMPONENT_SECTIONS};

/// One node of the size tree.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SizeNode {
    /// Its name, unique among its siblings.
    pub name: String,
    /// What it is: `component`, `module`, `section`, `function`, `data`,
    /// `custom`, `header`, `unreadable`.
    pub kind: &'static str,
    /// Its bytes in the file (for a node with children, their sum).
    pub bytes: u64,
    /// For a nested module or component seen before: the path of its first
    /// place (its bytes are counted here too: they are in the file twice).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub same_as: Option<String>,
    /// Why the bytes of an `unreadable` leaf could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// Its parts (none: a leaf).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<SizeNode>,
}

impl SizeNode {
    pub(crate) fn leaf(name: impl Into<String>, kind: &'static str, bytes: usize) -> SizeNode {
        SizeNode {
            name: name.into(),
            kind,
            bytes: bytes as u64,
            same_as: None,
            problem: None,
            children: Vec::new(),
        }
    }

    pub(crate) fn parent(
        name: impl Into<String>,
        kind: &'static str,
        mut children: Vec<SizeNode>,
    ) -> SizeNode {
        unique_names(&mut children);
        SizeNode {
            name: name.into(),
            kind,
            bytes: children.iter().map(|c| c.bytes).sum(),
            same_as: None,
            problem: None,
            children,
        }
    }

    /// The sum of its leaves' bytes.
    pub fn leaf_bytes(&self) -> u64 {
        if self.children.is_empty() {
            self.bytes
        } else {
            self.children.iter().map(SizeNode::leaf_bytes).sum()
        }
    }

    /// Every leaf with its path (`/`-joined names from the root's child).
    pub fn leaves(&self) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        fn walk(n: &SizeNode, path: &str, out: &mut Vec<(String, u64)>) {
            for c in &n.children {
                let p = if path.is_empty() {
                    c.name.clone()
                } else {
                    format!("{path}/{}", c.name)
                };
                if c.children.is_empty() {
                    out.push((p, c.bytes));
                } else {
                    walk(c, &p, out);
                }
            }
        }
        walk(self, "", &mut out);
        out
    }
}

/// Siblings with the same name get `#2`, `#3`, ... so a path names one node.
fn unique_names(children: &mut [SizeNode]) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for c in children.iter_mut() {
        let n = seen.entry(c.name.clone()).or_insert(0);
        *n += 1;
        if *n > 1 {
            c.name = format!("{}#{n}", c.name);
        }
    }
}

/// The size tree of `bytes` (a module or a component), named `name`.
///
/// ```
/// let wasm = wat::parse_str(r#"(module (func $f) (func $g i32.const 1 drop))"#)?;
/// let tree = weld_linker::size_tree("m.wasm", &wasm);
/// assert_eq!(tree.leaf_bytes(), wasm.len() as u64);
/// assert!(tree.leaves().iter().any(|(p, _)| p == "code/g"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn size_tree(name: &str, bytes: &[u8]) -> SizeNode {
    // Which nested items repeat an earlier one, in file order (one cheap
    // serial pass: section walks and hashes); then the tree, every nested
    // item in parallel.
    let mut repeats = HashMap::new();
    mark_repeats(bytes, 0, "", 0, &mut HashMap::new(), &mut repeats);
    let mut root = node(name, bytes, 0, "", 0, &repeats);
    root.name = name.to_string();
    root
}

/// The label of each nested item of a section list, in order:
/// `module[i]` / `component[i]`.
fn labels(sections: &[Sect<'_>]) -> Vec<Option<String>> {
    let (mut m, mut c) = (0usize, 0usize);
    sections
        .iter()
        .map(|s| match s.payload {
            Payload::ModuleSection { .. } => {
                m += 1;
                Some(format!("module[{}]", m - 1))
            }
            Payload::ComponentSection { .. } => {
                c += 1;
                Some(format!("component[{}]", c - 1))
            }
            _ => None,
        })
        .collect()
}

/// The nested item's bytes' range in `bytes`.
fn inner_range(s: &Sect<'_>) -> Option<std::ops::Range<usize>> {
    match &s.payload {
        Payload::ModuleSection { unchecked_range, .. }
        | Payload::ComponentSection { unchecked_range, .. } => {
            Some(unchecked_range.start as usize..unchecked_range.end as usize)
        }
        _ => None,
    }
}

/// Records, by absolute offset, each nested item whose bytes appeared
/// before (in file order, depth first) with the path of its first place.
fn mark_repeats(
    bytes: &[u8],
    base: usize,
    path: &str,
    depth: usize,
    seen: &mut HashMap<blake3::Hash, String>,
    repeats: &mut HashMap<usize, String>,
) {
    if depth >= weld_format::limits::MAX_NESTING {
        return;
    }
    let (sections, _) = walk(bytes);
    for (s, label) in sections.iter().zip(labels(&sections)) {
        let (Some(inner), Some(label)) = (inner_range(s), label) else {
            continue;
        };
        let here = if path.is_empty() {
            label
        } else {
            format!("{path}/{label}")
        };
        let hash = blake3::hash(&bytes[inner.clone()]);
        if let Some(first) = seen.get(&hash) {
            repeats.insert(base + inner.start, first.clone());
            continue;
        }
        seen.insert(hash, here.clone());
        if matches!(s.payload, Payload::ComponentSection { .. }) {
            mark_repeats(
                &bytes[inner.clone()],
                base + inner.start,
                &here,
                depth + 1,
                seen,
                repeats,
            );
        }
    }
}

/// The node of one module or component (`base`: where its bytes start in
/// the file; `path`: where it is, for repeats).
fn node(
    name: &str,
    bytes: &[u8],
    base: usize,
    path: &str,
    depth: usize,
    repeats: &HashMap<usize, String>,
) -> SizeNode {
    let is_component = Parser::is_component(bytes);
    let kind = if is_component { "component" } else { "module" };
    let header = bytes.len().min(8);
    let (sections, rest) = walk(bytes);
    // Names of the module's functions and of the module itself.
    let names = if is_component {
        Names::default()
    } else {
        Names::of(&sections)
    };
    let labels = labels(&sections);
    let parts: Vec<SizeNode> = sections
        .par_iter()
        .zip(labels)
        .map(|(s, label)| match (inner_range(s), label) {
            (Some(inner), Some(label)) => nested(bytes, base, path, depth, s, inner, label, repeats),
            _ => section(bytes, s, is_component, &names),
        })
        .collect();
    let mut children = Vec::with_capacity(parts.len() + 2);
    children.push(SizeNode::leaf("header", "header", header));
    children.extend(parts);
    if let Some((at, why)) = rest {
        let mut n = SizeNode::leaf("(unreadable)", "unreadable", bytes.len() - at);
        n.problem = Some(why);
        children.push(n);
    }
    SizeNode::parent(name, kind, children)
}

/// A nested module or component, with its section's header.
#[allow(clippy::too_many_arguments)]
fn nested(
    bytes: &[u8],
    base: usize,
    path: &str,
    depth: usize,
    s: &Sect<'_>,
    inner: std::ops::Range<usize>,
    label: String,
    repeats: &HashMap<usize, String>,
) -> SizeNode {
    let module = matches!(s.payload, Payload::ModuleSection { .. });
    let inner_bytes = &bytes[inner.clone()];
    let here = if path.is_empty() {
        label.clone()
    } else {
        format!("{path}/{label}")
    };
    let mut child = match repeats.get(&(base + inner.start)) {
        // Past the nesting limit: one leaf, said so.
        _ if depth >= weld_format::limits::MAX_NESTING => {
            let mut n = SizeNode::leaf(label.clone(), "unreadable", inner.len());
            n.problem = Some(format!(
                "nested deeper than {} levels",
                weld_format::limits::MAX_NESTING
            ));
            n
        }
        Some(first) => {
            let mut n = SizeNode::leaf(
                label.clone(),
                if module { "module" } else { "component" },
                inner.len(),
            );
            n.same_as = Some(first.clone());
            n
        }
        None => node(&label, inner_bytes, base + inner.start, &here, depth + 1, repeats),
    };
    // Its section's id and size, then its own bytes.
    let head = SizeNode::leaf("(section header)", "header", s.range.len() - inner.len());
    child.children.insert(0, head);
    if child.children.len() == 1 {
        // A repeat (or too deep): the leaf's bytes become a child of their
        // own.
        let own = SizeNode::leaf("(contents)", child.kind, inner.len());
        child.children.push(own);
    }
    child.bytes = child.children.iter().map(|c| c.bytes).sum();
    child.name = match nested_name(inner_bytes, module) {
        Some(n) => format!("{label} {n}"),
        None => label,
    };
    child
}

/// Any other section.
fn section(bytes: &[u8], s: &Sect<'_>, is_component: bool, names: &Names) -> SizeNode {
    match &s.payload {
        Payload::CodeSectionStart { .. } if !is_component => code(bytes, s, names),
        Payload::DataSection(reader) if !is_component => data(s, reader.clone()),
        Payload::CustomSection(c) => {
            let mut leaf = SizeNode::leaf(format!("custom \"{}\"", c.name()), "custom", s.range.len());
            if c.name() == "name" {
                leaf.problem = names.problem.clone();
            }
            leaf
        }
        _ => {
            let id = bytes[s.range.start];
            let name = if is_component {
                COMPONENT_SECTIONS.get(id as usize).copied().unwrap_or("unknown")
            } else {
                module_section_name(id)
            };
            SizeNode::leaf(name, "section", s.range.len())
        }
    }
}

/// The name a nested module gives itself in its name section.
fn nested_name(bytes: &[u8], module: bool) -> Option<String> {
    if !module {
        return None;
    }
    let (sections, _) = walk(bytes);
    Names::of(&sections).module
}

/// One top-level section of a module or component.
struct Sect<'a> {
    range: std::ops::Range<usize>,
    payload: Payload<'a>,
}

/// The sections of `bytes` up to the first that does not parse; then where
/// the unreadable rest starts and why.
fn walk(bytes: &[u8]) -> (Vec<Sect<'_>>, Option<(usize, String)>) {
    let mut parser = Parser::new(0);
    let mut pos = 0usize;
    let mut out = Vec::new();
    let start = bytes.len().min(8);
    loop {
        let at = pos;
        let (consumed, payload) = match parser.parse(&bytes[pos..], true) {
            Ok(Chunk::Parsed { consumed, payload }) => (consumed, payload),
            Ok(Chunk::NeedMoreData(_)) => {
                return (
                    out,
                    Some((at.max(start), "unexpected end of the file".to_string())),
                );
            }
            Err(e) => return (out, Some((at.max(start), e.message().to_string()))),
        };
        pos += consumed;
        if let Payload::ModuleSection { unchecked_range, .. }
        | Payload::ComponentSection { unchecked_range, .. } = &payload
        {
            let len = (unchecked_range.end - unchecked_range.start) as usize;
            if len > bytes.len() - pos {
                return (
                    out,
                    Some((at, "a nested item runs past the end of the file".to_string())),
                );
            }
            pos += len;
        }
        match payload {
            Payload::End(_) => return (out, None),
            Payload::Version { .. } => {}
            Payload::CodeSectionStart { size, .. } => {
                let end = pos + size as usize;
                if end > bytes.len() {
                    return (
                        out,
                        Some((at, "the code section runs past the end of the file".to_string())),
                    );
                }
                parser.skip_section();
                pos = end;
                out.push(Sect {
                    range: at..end,
                    payload,
                });
            }
            payload => out.push(Sect {
                range: at..pos,
                payload,
            }),
        }
    }
}

/// A module's names: its own, and its functions' by index.
#[derive(Default)]
struct Names {
    module: Option<String>,
    /// Why (part of) the name section could not be read.
    problem: Option<String>,
    funcs: HashMap<u32, String>,
    imported_funcs: u32,
}

impl Names {
    fn of(sections: &[Sect<'_>]) -> Names {
        let mut names = Names::default();
        for s in sections {
            match &s.payload {
                Payload::ImportSection(reader) => {
                    names.imported_funcs += reader
                        .clone()
                        .into_imports()
                        .flatten()
                        .filter(|i| matches!(i.ty, wasmparser::TypeRef::Func(_)))
                        .count() as u32;
                }
                Payload::CustomSection(c) if c.name() == "name" => {
                    let data = c.data();
                    let mut bad = None;
                    for sub in NameSectionReader::new(BinaryReader::new(data, c.data_offset())) {
                        match sub {
                            Ok(Name::Module { name, .. }) => names.module = Some(name.to_string()),
                            Ok(Name::Function(map)) => {
                                for n in map {
                                    match n {
                                        Ok(n) => {
                                            names.funcs.insert(n.index, n.name.to_string());
                                        }
                                        Err(e) => bad = bad.or(Some(e)),
                                    }
                                }
                            }
                            Ok(_) => {}
                            Err(e) => {
                                bad = bad.or(Some(e));
                                break;
                            }
                        }
                    }
                    names.problem = bad
                        .map(|e| format!("names unreadable: {} (at offset {:#x})", e.message(), e.offset()));
                }
                _ => {}
            }
        }
        names
    }
}

/// The code section: its header and count, then each body by name.
fn code(bytes: &[u8], s: &Sect<'_>, names: &Names) -> SizeNode {
    let body = &bytes[s.range.clone()];
    let mut reader = BinaryReader::new(body, s.range.start as u64);
    let mut children = Vec::new();
    // id, size, count.
    let prefix = (|| -> Result<usize, wasmparser::BinaryReaderError> {
        reader.read_u8()?;
        reader.read_var_u32()?;
        let count = reader.read_var_u32()?;
        let head = (reader.original_position() - s.range.start as u64) as usize;
        for k in 0..count {
            let at = reader.original_position();
            let size = reader.read_var_u32()? as usize;
            reader.read_bytes(size)?;
            let index = names.imported_funcs + k;
            let name = names
                .funcs
                .get(&index)
                .cloned()
                .unwrap_or_else(|| format!("func[{index}]"));
            children.push(SizeNode::leaf(
                name,
                "function",
                (reader.original_position() - at) as usize,
            ));
        }
        Ok(head)
    })();
    let attributed: u64 = children.iter().map(|c| c.bytes).sum();
    match prefix {
        Ok(head) => children.insert(0, SizeNode::leaf("(section header)", "header", head)),
        Err(e) => {
            let rest = (s.range.len() as u64).saturating_sub(attributed);
            let mut n = SizeNode::leaf("(unreadable)", "unreadable", rest as usize);
            n.problem = Some(e.message().to_string());
            children.insert(0, n);
        }
    }
    let mut node = SizeNode::parent("code", "section", children);
    // Bytes after the last body (a lying count) stay in the section.
    let extra = (s.range.len() as u64).saturating_sub(node.bytes);
    if extra > 0 {
        node.children
            .push(SizeNode::leaf("(trailing)", "header", extra as usize));
        node.bytes += extra;
    }
    node
}

/// The data section: its header and count, then each segment.
fn data(s: &Sect<'_>, reader: wasmparser::DataSectionReader<'_>) -> SizeNode {
    let mut children = Vec::new();
    let mut last = None;
    for (k, d) in reader.into_iter_with_offsets().enumerate() {
        match d {
            Ok((_, seg)) => {
                let start = last.unwrap_or(seg.range.start);
                children.push(SizeNode::leaf(
                    format!("data[{k}]"),
                    "data",
                    (seg.range.end - start) as usize,
                ));
                last = Some(seg.range.end);
            }
            Err(_) => break,
        }
    }
    let attributed: usize = children.iter().map(|c| c.bytes as usize).sum();
    children.insert(
        0,
        SizeNode::leaf(
            "(section header)",
            "header",
            s.range.len().saturating_sub(attributed),
        ),
    );
    SizeNode::parent("data", "section", children)
}

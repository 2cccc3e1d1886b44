//! Custom sections of the fused module: `name` merged and remapped,
//! `producers` and `target_features` merged, `component-type:*` (WIT types
//! and names, no indices) copied so the result can still be made a
//! component; sections weld cannot keep true
//! are refused (linking metadata) or dropped with a warning (DWARF and
//! anything unknown, which may hold indices or code offsets that fusing
//! changes). Never copied stale.

use std::borrow::Cow;
use std::collections::BTreeMap;

use indexmap::IndexMap;
use wasm_encoder::{
    CustomSection, Encode, IndirectNameMap, NameMap, NameSection, ProducersField, ProducersSection,
};
use wasmparser::{BinaryReader, Name, NameSectionReader, ProducersSectionReader};
use weld_format::survey::ModuleSurvey;

use crate::error::FuseError;
use weld_format::{InputId, Space};

use crate::fuse::context::FuseCx;
use crate::fuse::plan::{Plan, Start};

/// Adds one name subsection.
type AddNames = fn(&mut NameSection, &NameMap);

/// Index-keyed names, sorted by index; the first name given wins.
type Names<'a> = BTreeMap<u32, &'a str>;

#[derive(Default)]
struct MergedNames<'a> {
    funcs: Names<'a>,
    locals: BTreeMap<u32, Names<'a>>,
    labels: BTreeMap<u32, Names<'a>>,
    types: Names<'a>,
    tables: Names<'a>,
    memories: Names<'a>,
    globals: Names<'a>,
    elems: Names<'a>,
    data: Names<'a>,
    tags: Names<'a>,
    fields: BTreeMap<u32, Names<'a>>,
}

/// Marks a name as not to be carried over.
const SKIP: u32 = u32::MAX;

/// The output index each old index may be named at: an import that another
/// input provides is named by its provider, not by the importer.
fn nameable<I: Copy + Into<u32>>(map: &[I], imported: u32, out_imports: u32) -> Vec<u32> {
    map.iter()
        .enumerate()
        .map(|(i, &x)| {
            let x: u32 = x.into();
            if (i as u32) < imported && x >= out_imports {
                SKIP
            } else {
                x
            }
        })
        .collect()
}

fn put<'a>(into: &mut Names<'a>, map: &[u32], m: wasmparser::NameMap<'a>) -> wasmparser::Result<()> {
    for n in m {
        let n = n?;
        match map.get(n.index as usize) {
            Some(&SKIP) | None => {}
            Some(&new) => {
                into.entry(new).or_insert(n.name);
            }
        }
    }
    Ok(())
}

fn put_indirect<'a>(
    into: &mut BTreeMap<u32, Names<'a>>,
    map: &[u32],
    m: wasmparser::IndirectNameMap<'a>,
) -> wasmparser::Result<()> {
    for n in m {
        let n = n?;
        if let Some(&new) = map.get(n.index as usize).filter(|&&x| x != SKIP) {
            let inner = into.entry(new).or_default();
            if !inner.is_empty() {
                continue; // another input already named this item's parts
            }
            for x in n.names {
                let x = x?;
                inner.insert(x.index, x.name);
            }
        }
    }
    Ok(())
}

impl<'a> MergedNames<'a> {
    fn add(
        &mut self,
        data: &'a [u8],
        offset: u64,
        k: InputId,
        plan: &Plan<'_>,
        m: &ModuleSurvey<'_>,
    ) -> wasmparser::Result<()> {
        let maps = &plan.maps[k.as_usize()];
        let out_imports = &plan.n_imports;
        let raw = |v: &[weld_format::TypeIdx]| v.iter().map(|x| x.0).collect::<Vec<u32>>();
        let mut funcs = nameable(&maps.funcs, m.imported.funcs, out_imports[Space::Func]);
        // A folded function is named by the function it was folded into.
        for (i, f) in funcs.iter_mut().enumerate().skip(m.imported.funcs as usize) {
            let d = (i as u32 - m.imported.funcs, k);
            if *f != SKIP && plan.funcs.get((*f - out_imports[Space::Func]) as usize) != Some(&(d.1, d.0)) {
                *f = SKIP;
            }
        }
        // Locals and labels belong to defined functions only.
        let defined: Vec<u32> = funcs
            .iter()
            .enumerate()
            .map(|(i, &f)| if (i as u32) < m.imported.funcs { SKIP } else { f })
            .collect();
        let mut tables = nameable(&maps.tables, m.imported.tables, out_imports[Space::Table]);
        for x in tables.iter_mut().filter(|x| **x != SKIP) {
            *x = plan.table(*x);
        }
        let mut memories = nameable(&maps.memories, m.imported.memories, out_imports[Space::Memory]);
        for x in memories.iter_mut().filter(|x| **x != SKIP) {
            *x = plan.memory(*x);
        }
        let globals = nameable(&maps.globals, m.imported.globals, out_imports[Space::Global]);
        let tags = nameable(&maps.tags, m.imported.tags, out_imports[Space::Tag]);
        let types = raw(&maps.types);
        let elems: Vec<u32> = maps.elems.iter().map(|x| x.0).collect();
        let data_map: Vec<u32> = maps.data.iter().map(|x| x.0).collect();
        for sub in NameSectionReader::new(BinaryReader::new(data, offset)) {
            match sub? {
                Name::Module { .. } => {}
                Name::Function(n) => put(&mut self.funcs, &funcs, n)?,
                Name::Local(n) => put_indirect(&mut self.locals, &defined, n)?,
                Name::Label(n) => put_indirect(&mut self.labels, &defined, n)?,
                Name::Type(n) => put(&mut self.types, &types, n)?,
                Name::Table(n) => put(&mut self.tables, &tables, n)?,
                Name::Memory(n) => put(&mut self.memories, &memories, n)?,
                Name::Global(n) => put(&mut self.globals, &globals, n)?,
                Name::Element(n) => put(&mut self.elems, &elems, n)?,
                Name::Data(n) => put(&mut self.data, &data_map, n)?,
                Name::Tag(n) => put(&mut self.tags, &tags, n)?,
                Name::Field(n) => put_indirect(&mut self.fields, &types, n)?,
                _ => {}
            }
        }
        Ok(())
    }

    fn encode(&self) -> Option<Vec<u8>> {
        fn map(n: &Names<'_>) -> NameMap {
            let mut m = NameMap::new();
            for (&i, name) in n {
                m.append(i, name);
            }
            m
        }
        fn indirect(n: &BTreeMap<u32, Names<'_>>) -> IndirectNameMap {
            let mut m = IndirectNameMap::new();
            for (&i, inner) in n.iter().filter(|(_, v)| !v.is_empty()) {
                m.append(i, &map(inner));
            }
            m
        }
        // Subsections in id order; empty ones are left out.
        let mut s = NameSection::new();
        if !self.funcs.is_empty() {
            s.functions(&map(&self.funcs));
        }
        if self.locals.values().any(|v| !v.is_empty()) {
            s.locals(&indirect(&self.locals));
        }
        if self.labels.values().any(|v| !v.is_empty()) {
            s.labels(&indirect(&self.labels));
        }
        let plain: [(&Names<'_>, AddNames); 6] = [
            (&self.types, NameSection::types),
            (&self.tables, NameSection::tables),
            (&self.memories, NameSection::memories),
            (&self.globals, NameSection::globals),
            (&self.elems, NameSection::elements),
            (&self.data, NameSection::data),
        ];
        for (names, add) in plain {
            if !names.is_empty() {
                add(&mut s, &map(names));
            }
        }
        if self.fields.values().any(|v| !v.is_empty()) {
            s.fields(&indirect(&self.fields));
        }
        if !self.tags.is_empty() {
            s.tags(&map(&self.tags));
        }
        let data = s.as_custom().data.into_owned();
        (!data.is_empty()).then_some(data)
    }
}

fn read_features<'a>(r: &mut BinaryReader<'a>) -> wasmparser::Result<Vec<(u8, &'a str)>> {
    let n = r.read_var_u32()?;
    (0..n).map(|_| Ok((r.read_u8()?, r.read_string()?))).collect()
}

/// The merged custom sections for the fused module, encoded (to append after
/// the last standard section), and warnings about the ones dropped.
pub fn merge_customs(
    cx: &FuseCx<'_, '_>,
    plan: &Plan<'_>,
    strip_debug: bool,
) -> Result<(Vec<u8>, Vec<String>), FuseError> {
    let FuseCx { files, modules, .. } = *cx;
    let mut names = MergedNames::default();
    let mut producers: IndexMap<&str, IndexMap<&str, &str>> = IndexMap::new();
    let mut features: IndexMap<&str, u8> = IndexMap::new();
    let mut warnings = Vec::new();
    let mut refused = Vec::new();
    let mut copied: Vec<weld_format::survey::Custom<'_>> = Vec::new();
    let malformed = |k: usize, what: &str, e: wasmparser::BinaryReaderError| {
        FuseError::parse(files[k], format!("custom section `{what}`"), e)
    };
    for &k in &plan.order {
        let ki = k.as_usize();
        let m = modules[ki];
        for c in &m.customs {
            match c.name {
                "name" if strip_debug => {}
                "name" => names.add(c.data, c.data_offset, k, plan, m).map_err(|e| malformed(ki, "name", e))?,
                "producers" => {
                    let r = ProducersSectionReader::new(BinaryReader::new(c.data, c.data_offset))
                        .map_err(|e| malformed(ki, "producers", e))?;
                    for field in r {
                        let field = field.map_err(|e| malformed(ki, "producers", e))?;
                        let entry = producers.entry(field.name).or_default();
                        for v in field.values {
                            let v = v.map_err(|e| malformed(ki, "producers", e))?;
                            entry.entry(v.name).or_insert(v.version);
                        }
                    }
                }
                "target_features" => {
                    let mut r = BinaryReader::new(c.data, c.data_offset);
                    for (prefix, name) in read_features(&mut r).map_err(|e| malformed(ki, "target_features", e))? {
                        // A feature used (`+`) by any input is used by the fused module.
                        let p = features.entry(name).or_insert(prefix);
                        if prefix == b'+' {
                            *p = b'+';
                        }
                    }
                }
                // WIT for componentization: names and types, no indices.
                n if n.starts_with("component-type") => copied.push(*c),
                // Consumed by `weld link`, which laid the libraries out.
                "dylink.0" if cx.dylink => {}
                "dylink.0" | "linking" => refused.push((files[ki].to_string(), c.name.to_string())),
                n if n.starts_with("reloc.") => refused.push((files[ki].to_string(), n.to_string())),
                // Kept (moved) by the debug stage, or stripped.
                n if crate::fuse::debug::is_debug_section(n) => {}
                n => warnings.push(format!(
                    "{}: dropped custom section `{n}` (weld cannot tell whether it holds indices or offsets that fusing changes)",
                    files[ki]
                )),
            }
        }
    }
    if !refused.is_empty() {
        return Err(FuseError::Unsupported(refused));
    }
    // Collapse repeated debug warnings into one per input.
    warnings.dedup();
    if let Some(Start::Synthesized { func, .. }) = &plan.start {
        if !strip_debug {
            names.funcs.entry(func.0).or_insert("weld:start");
        }
    }

    // Each section: id 0, then wasm-encoder's size-prefixed contents.
    let mut out = Vec::new();
    if let Some(bytes) = names.encode() {
        out.push(0);
        CustomSection {
            name: Cow::Borrowed("name"),
            data: Cow::Owned(bytes),
        }
        .encode(&mut out);
    }
    if !producers.is_empty() {
        let mut p = ProducersSection::new();
        for (field, values) in &producers {
            let mut f = ProducersField::new();
            for (name, version) in values {
                f.value(name, version);
            }
            p.field(field, &f);
        }
        out.push(0);
        p.encode(&mut out);
    }
    if !features.is_empty() {
        let mut data = Vec::new();
        (features.len() as u32).encode(&mut data);
        for (name, prefix) in &features {
            data.push(*prefix);
            name.encode(&mut data);
        }
        out.push(0);
        CustomSection {
            name: Cow::Borrowed("target_features"),
            data: Cow::Owned(data),
        }
        .encode(&mut out);
    }
    for c in copied {
        out.push(0);
        CustomSection {
            name: Cow::Borrowed(c.name),
            data: Cow::Borrowed(c.data),
        }
        .encode(&mut out);
    }
    Ok((out, warnings))
}

//! The top-level sections of a component, each with its byte range, nested
//! modules and components not descended into, and what each defines in the
//! index spaces that split and bundle track.
//!
//! `&[u8]` (a component) → `Vec<Section>` in order, borrowing the bytes; one
//! `wasmparser::Parser` pass over the top level, O(sections). Each section
//! can be written back unchanged ([`Section::raw`]) and counted
//! ([`Defined::add`]), which is all split and bundle need to rewrite a
//! component in place.

use std::ops::Range;

use wasm_encoder::RawSection;
use wasmparser::{
    BinaryReaderError, Chunk, ComponentExternalKind, ComponentOuterAliasKind, ComponentTypeRef, Parser,
    Payload,
};

/// The names of a core module's sections, by id (custom is 0), as weld's
/// reports and errors write them: the one table of them.
pub const MODULE_SECTIONS: [&str; 14] = [
    "custom",
    "type",
    "import",
    "function",
    "table",
    "memory",
    "global",
    "export",
    "start",
    "element",
    "code",
    "data",
    "data count",
    "tag",
];

/// The names of a component's sections, by id (custom is 0).
pub const COMPONENT_SECTIONS: [&str; 12] = [
    "custom",
    "core module",
    "core instance",
    "core type",
    "component",
    "instance",
    "alias",
    "type",
    "canonical",
    "start",
    "import",
    "export",
];

/// A core module section's name by id, `unknown` past the table.
pub fn module_section_name(id: u8) -> &'static str {
    MODULE_SECTIONS.get(id as usize).copied().unwrap_or("unknown")
}

/// One top-level section.
#[derive(Debug)]
pub struct Section<'a> {
    /// The whole section, id and size included.
    pub range: Range<usize>,
    /// Its parsed form (for a nested module or component, only the header).
    pub payload: Payload<'a>,
    /// The section id.
    id: u8,
    /// Its contents, after the id and size.
    data: &'a [u8],
}

impl<'a> Section<'a> {
    /// For a nested module or component section: its bytes' range.
    pub fn nested(&self) -> Option<Range<usize>> {
        match &self.payload {
            Payload::ModuleSection { unchecked_range, .. }
            | Payload::ComponentSection { unchecked_range, .. } => {
                Some(unchecked_range.start as usize..unchecked_range.end as usize)
            }
            _ => None,
        }
    }

    /// The section as it stands, to copy into an output byte for byte.
    pub fn raw(&self) -> RawSection<'a> {
        RawSection {
            id: self.id,
            data: self.data,
        }
    }
}

/// The sections of `bytes` (a component), in order, after the 8-byte header.
pub fn sections(bytes: &[u8]) -> Result<Vec<Section<'_>>, BinaryReaderError> {
    let mut parser = Parser::new(0);
    let mut pos = 0usize;
    let mut out = Vec::new();
    loop {
        let (consumed, payload) = match parser.parse(&bytes[pos..], true)? {
            Chunk::Parsed { consumed, payload } => (consumed, payload),
            Chunk::NeedMoreData(_) => {
                return Err(eof(pos));
            }
        };
        let start = pos;
        pos += consumed;
        let nested = match &payload {
            Payload::ModuleSection { unchecked_range, .. }
            | Payload::ComponentSection { unchecked_range, .. } => {
                let len = (unchecked_range.end - unchecked_range.start) as usize;
                if len > bytes.len() - pos {
                    return Err(eof(pos));
                }
                len
            }
            _ => 0,
        };
        pos += nested;
        match payload {
            Payload::End(_) => return Ok(out),
            Payload::Version { .. } => {}
            payload => {
                // The parser has read the id and the size: the contents follow them.
                let mut reader = wasmparser::BinaryReader::new(&bytes[start + 1..pos], 0);
                reader.read_var_u32()?;
                let header = 1 + reader.original_position() as usize;
                out.push(Section {
                    range: start..pos,
                    payload,
                    id: bytes[start],
                    data: &bytes[start + header..pos],
                })
            }
        }
    }
}

/// How many items the sections so far defined, in the index spaces split
/// and bundle track: core types, component types, core modules, components.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Defined {
    /// Core types.
    pub core_types: u32,
    /// Component types.
    pub types: u32,
    /// Core modules.
    pub modules: u32,
    /// Components.
    pub components: u32,
}

impl Defined {
    /// Counts what one section defines. O(entries of the section).
    pub fn add(&mut self, payload: &Payload<'_>) {
        match payload {
            Payload::ModuleSection { .. } => self.modules += 1,
            Payload::ComponentSection { .. } => self.components += 1,
            Payload::CoreTypeSection(r) => self.core_types += r.count(),
            Payload::ComponentTypeSection(r) => self.types += r.count(),
            Payload::ComponentImportSection(r) => {
                for i in r.clone().into_iter().flatten() {
                    match i.ty {
                        ComponentTypeRef::Module(_) => self.modules += 1,
                        ComponentTypeRef::Component(_) => self.components += 1,
                        ComponentTypeRef::Type(_) => self.types += 1,
                        _ => {}
                    }
                }
            }
            Payload::ComponentExportSection(r) => {
                for e in r.clone().into_iter().flatten() {
                    self.export(e.kind);
                }
            }
            Payload::ComponentAliasSection(r) => {
                for a in r.clone().into_iter().flatten() {
                    match a {
                        wasmparser::ComponentAlias::InstanceExport { kind, .. } => self.export(kind),
                        wasmparser::ComponentAlias::Outer { kind, .. } => match kind {
                            ComponentOuterAliasKind::CoreModule => self.modules += 1,
                            ComponentOuterAliasKind::CoreType => self.core_types += 1,
                            ComponentOuterAliasKind::Type => self.types += 1,
                            ComponentOuterAliasKind::Component => self.components += 1,
                        },
                        wasmparser::ComponentAlias::CoreInstanceExport { .. } => {}
                    }
                }
            }
            _ => {}
        }
    }

    /// An export (or an alias of an instance's export) of `kind`.
    fn export(&mut self, kind: ComponentExternalKind) {
        match kind {
            ComponentExternalKind::Type => self.types += 1,
            ComponentExternalKind::Module => self.modules += 1,
            ComponentExternalKind::Component => self.components += 1,
            _ => {}
        }
    }
}

/// An "unexpected end of input" error at `pos`.
pub fn eof(pos: usize) -> BinaryReaderError {
    wasmparser::BinaryReader::new(&[], pos as u64)
        .read_u8()
        .expect_err("reading from nothing fails")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_sections_rebuild_the_component_byte_for_byte() {
        let bytes = wat::parse_str(
            r#"(component
                (core module $m (func (export "f")))
                (type $t (func))
                (import "i" (instance))
                (core instance (instantiate $m))
                (export "m" (core module $m)))"#,
        )
        .unwrap();
        let secs = sections(&bytes).unwrap();
        let mut out = wasm_encoder::Component::new();
        let mut defined = Defined::default();
        for s in &secs {
            out.section(&s.raw());
            defined.add(&s.payload);
        }
        assert_eq!(out.finish(), bytes);
        // Types: `$t` and the instance type the import's inline type became.
        // Modules: `$m` and its export.
        assert_eq!(
            defined,
            Defined {
                core_types: 0,
                types: 2,
                modules: 2,
                components: 0
            }
        );
    }
}

//! The `dylink.0` custom section of a shared library: what the loader must
//! reserve for it (memory and table), the libraries it needs, and the symbol
//! flags of its imports and exports. Bytes in, facts out; hostile bytes give
//! an error naming the subsection, never a panic.
//!
//! The format is the tool conventions' `DynamicLinking.md`; wasmparser reads
//! the subsections, this module checks what a loader relies on.

use std::collections::HashMap;

use wasmparser::{BinaryReader, Dylink0Subsection, SymbolFlags};

use crate::survey::ModuleSurvey;

/// The name of the section.
pub const SECTION: &str = "dylink.0";

/// What one library's `dylink.0` says.
#[derive(Debug, Clone, Default)]
pub struct Dylink<'a> {
    /// Bytes of memory to reserve, starting at `__memory_base`.
    pub memory_size: u32,
    /// Alignment of that area, as a power of two.
    pub memory_align: u32,
    /// Table slots to reserve, starting at `__table_base`.
    pub table_size: u32,
    /// Alignment of those slots, as a power of two.
    pub table_align: u32,
    /// The libraries it needs, by file name, in order.
    pub needed: Vec<&'a str>,
    /// Symbol flags of exports, by export name.
    pub export_flags: HashMap<&'a str, SymbolFlags>,
    /// Symbol flags of imports, by (module, field).
    pub import_flags: HashMap<(&'a str, &'a str), SymbolFlags>,
}

impl Dylink<'_> {
    /// Whether the import `module`.`field` is a weak reference (it may stay
    /// undefined: a function address or data address of zero).
    /// LLVM records the flags of a `GOT.mem`/`GOT.func` import under `env`
    /// (the symbol's name), so both keys are consulted.
    pub fn is_weak_import(&self, module: &str, field: &str) -> bool {
        [(module, field), ("env", field)].iter().any(|key| {
            self.import_flags
                .get(key)
                .is_some_and(|f| f.contains(SymbolFlags::BINDING_WEAK))
        })
    }

    /// Whether the export `name` is a weak definition (another library's
    /// strong one may take its place without a warning).
    pub fn is_weak_export(&self, name: &str) -> bool {
        self.export_flags
            .get(name)
            .is_some_and(|f| f.contains(SymbolFlags::BINDING_WEAK))
    }

    /// Whether the export `name` is thread-local.
    pub fn is_tls_export(&self, name: &str) -> bool {
        self.export_flags
            .get(name)
            .is_some_and(|f| f.contains(SymbolFlags::TLS))
    }
}

/// Why a `dylink.0` section cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason} (at offset {offset:#x})")]
pub struct DylinkError {
    /// What is wrong.
    pub reason: String,
    /// The absolute offset in the input.
    pub offset: u64,
}

/// Reads the `dylink.0` section of a surveyed module: `None` when it has
/// none (a module that is not a shared library).
pub fn dylink<'a>(m: &ModuleSurvey<'a>) -> Option<Result<Dylink<'a>, DylinkError>> {
    let c = m.custom(SECTION)?;
    Some(parse(c.data, c.data_offset))
}

/// Parses the payload of a `dylink.0` section found at absolute `offset`.
pub fn parse(data: &[u8], offset: u64) -> Result<Dylink<'_>, DylinkError> {
    let err = |reason: String, offset: u64| DylinkError { reason, offset };
    let reader = BinaryReader::new(data, offset);
    let mut out = Dylink::default();
    let mut mem_info = false;
    for sub in wasmparser::Dylink0SectionReader::new(reader) {
        let sub = sub.map_err(|e| err(format!("malformed subsection: {}", e.message()), e.offset()))?;
        match sub {
            Dylink0Subsection::MemInfo(info) => {
                if mem_info {
                    return Err(err("two mem-info subsections".into(), offset));
                }
                mem_info = true;
                if info.memory_alignment >= 32 || info.table_alignment >= 32 {
                    return Err(err(
                        format!(
                            "mem-info alignment 2^{} / 2^{} is larger than the address space",
                            info.memory_alignment, info.table_alignment
                        ),
                        offset,
                    ));
                }
                out.memory_size = info.memory_size;
                out.memory_align = info.memory_alignment;
                out.table_size = info.table_size;
                out.table_align = info.table_alignment;
            }
            Dylink0Subsection::Needed(names) => {
                out.needed.extend(names);
            }
            Dylink0Subsection::ExportInfo(infos) => {
                out.export_flags
                    .extend(infos.into_iter().map(|i| (i.name, i.flags)));
            }
            Dylink0Subsection::ImportInfo(infos) => {
                out.import_flags
                    .extend(infos.into_iter().map(|i| ((i.module, i.field), i.flags)));
            }
            // Runtime paths and target architectures say nothing a static
            // link uses; unknown subsections are skipped, as loaders do.
            Dylink0Subsection::RuntimePath(_)
            | Dylink0Subsection::TargetArch(_)
            | Dylink0Subsection::Unknown { .. } => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(id: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![id, body.len() as u8];
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn reads_mem_info_needed_and_flags() {
        let mut data = sub(1, &[24, 2, 3, 0]);
        data.extend(sub(2, &[1, 7, b'l', b'i', b'b', b'c', b'.', b's', b'o']));
        data.extend(sub(4, &[1, 3, b'e', b'n', b'v', 1, b'f', 1]));
        let d = parse(&data, 100).unwrap();
        assert_eq!(
            (d.memory_size, d.memory_align, d.table_size, d.table_align),
            (24, 2, 3, 0)
        );
        assert_eq!(d.needed, ["libc.so"]);
        assert!(d.is_weak_import("env", "f"));
        assert!(!d.is_weak_import("env", "g"));
    }

    #[test]
    fn truncated_and_lying_sections_are_errors() {
        // A mem-info that says it is longer than the section.
        let data = [1u8, 9, 24, 2];
        let e = parse(&data, 0).unwrap_err();
        assert!(e.reason.starts_with("malformed subsection"), "{e}");
        // A needed list that claims a thousand names.
        let data = sub(2, &[0xe8, 0x07]);
        assert!(parse(&data, 0).is_err());
        // An alignment past the address space.
        let data = sub(1, &[0, 40, 0, 0]);
        assert!(parse(&data, 0).unwrap_err().reason.contains("alignment"));
    }
}

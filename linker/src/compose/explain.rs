//! When the composed component does not validate: the validator's error →
//! the [`ComposeError`] that names the culprit.
//!
//! An error inside an embedded child that is invalid on its own blames that
//! input; an error in an instantiation blames the wire whose argument does
//! not fit (found by [`check::culprit`](super::check::culprit)); anything
//! else is the output's. The validator's error is kept as the source either
//! way. Runs only on the error path; cost: one section walk of the output,
//! one validation of the child at fault, one probe of a few children.

use wasmparser::BinaryReaderError;
use weld_format::Problem;

use super::check;
use super::emit::Emitted;
use super::wire::{Children, Source, Wiring};
use crate::error::{ArgumentSource, ComposeError};

/// Turns a validation error of the output into the input or the wire it is
/// about, when it is about one.
pub fn explain(
    e: BinaryReaderError,
    emitted: &Emitted,
    children: &Children<'_>,
    contents: &[&[u8]],
    wiring: &Wiring,
) -> ComposeError {
    let offset = e.offset() as usize;
    // Inside an embedded child: that input is invalid (children without
    // imports of the result are validated only here).
    let nested = weld_format::sections::sections(&emitted.bytes)
        .ok()
        .into_iter()
        .flatten()
        .filter_map(|s| match s.payload {
            wasmparser::Payload::ComponentSection { .. } => s.nested(),
            _ => None,
        });
    for (range, &c) in nested.zip(&emitted.embedded) {
        // A child valid on its own is not at fault (a limit of the whole, or
        // a wire): the output is named instead.
        let valid_alone =
            || weld_format::validate::validate(contents[children[c].content.as_usize()], false).is_ok();
        if range.contains(&offset) && !valid_alone() {
            let mut p = Problem::parse(children[c].name, None, e).because("invalid component");
            p.offset = Some((offset - range.start) as u64);
            return ComposeError::InvalidInput(Box::new(p));
        }
    }
    let Some(&c) = instantiation_at(&emitted.bytes, offset).and_then(|nth| emitted.instantiated.get(nth))
    else {
        return ComposeError::Invalid { source: e };
    };
    let child = &children[c];
    // Which import: the validator's instantiation check, rerun per wire.
    let Some((k, source)) = check::culprit(c, children, contents, wiring) else {
        return ComposeError::TypeMismatch {
            importer: child.name.to_string(),
            import: None,
            from: Box::new(ArgumentSource::Unknown),
            source: e,
        };
    };
    let import = child.imports.get_index(k).map(|(n, _)| *n).unwrap_or("?");
    let from = match &wiring.sources(c)[k] {
        Source::Wire {
            provider,
            export,
            rule,
        } => ArgumentSource::Wire {
            provider: children[*provider].name.to_string(),
            export: export.clone(),
            rule: rule.clone(),
        },
        Source::Instance { provider } => ArgumentSource::Instance {
            provider: children[*provider].name.to_string(),
        },
        Source::Outer(_) | Source::OuterExport { .. } => ArgumentSource::Outer {
            name: emitted
                .outer_names
                .get(&(c, k))
                .map_or(import, String::as_str)
                .to_string(),
        },
    };
    ComposeError::TypeMismatch {
        importer: child.name.to_string(),
        import: Some(import.to_string()),
        from: Box::new(from),
        source,
    }
}

/// Which instantiation (counting `instantiate` entries of the top level in
/// order) the byte `offset` of `bytes` falls in.
fn instantiation_at(bytes: &[u8], offset: usize) -> Option<usize> {
    use wasmparser::{BinaryReader, ComponentInstance, ComponentInstanceSectionReader};
    let mut reader = BinaryReader::new(bytes, 0);
    reader.read_bytes(8).ok()?;
    let mut nth = 0usize;
    while !reader.eof() {
        let id = reader.read_u8().ok()?;
        let size = reader.read_var_u32().ok()? as usize;
        let start = reader.original_position();
        let body = reader.read_bytes(size).ok()?;
        if id != 5 {
            continue;
        }
        let section = ComponentInstanceSectionReader::new(BinaryReader::new(body, start)).ok()?;
        let end = start + size as u64;
        let offset = offset as u64;
        let mut last: Option<usize> = None;
        for item in section.into_iter_with_offsets() {
            let (at, instance) = item.ok()?;
            if let ComponentInstance::Instantiate { .. } = instance {
                if at <= offset {
                    last = Some(nth);
                }
                nth += 1;
            }
        }
        if (start..=end).contains(&offset) {
            return last;
        }
    }
    None
}

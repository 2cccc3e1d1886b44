//! The top-level sections of a component, each with its byte range, nested
//! modules and components not descended into.

use std::ops::Range;

use wasmparser::{BinaryReaderError, Chunk, Parser, Payload};

/// One top-level section.
pub struct Section<'a> {
    /// The whole section, id and size included.
    pub range: Range<usize>,
    /// Its parsed form (for a nested module or component, only the header).
    pub payload: Payload<'a>,
}

impl Section<'_> {
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
            payload => out.push(Section {
                range: start..pos,
                payload,
            }),
        }
    }
}

/// An "unexpected end of input" error at `pos`.
pub(crate) fn eof(pos: usize) -> BinaryReaderError {
    wasmparser::BinaryReader::new(&[], pos as u64)
        .read_u8()
        .expect_err("reading from nothing fails")
}

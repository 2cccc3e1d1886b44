//! The component again, each transformed module in the places of its
//! original: a copy of every other byte, with the sizes of the sections
//! around a changed module written anew. No index changes (a module section
//! defines one module whatever its contents), so nothing else is re-encoded.

use weld_format::sections::sections;

/// `bytes` (a component, already walked) with the module at each range
/// `replace` maps (ranges relative to `bytes`) put in its place.
pub(crate) fn assemble<'r>(
    bytes: &[u8],
    replace: &dyn Fn(std::ops::Range<usize>) -> Option<&'r [u8]>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    component(bytes, 0, replace, &mut out);
    out
}

fn component<'r>(
    bytes: &[u8],
    base: usize,
    replace: &dyn Fn(std::ops::Range<usize>) -> Option<&'r [u8]>,
    out: &mut Vec<u8>,
) {
    out.extend_from_slice(&bytes[..8]);
    // The walk that found the modules read these sections already.
    let secs = sections(bytes).expect("walked before");
    for s in &secs {
        let Some(r) = s.nested() else {
            out.extend_from_slice(&bytes[s.range.clone()]);
            continue;
        };
        let id = bytes[s.range.start];
        let module = matches!(s.payload, wasmparser::Payload::ModuleSection { .. });
        let new: std::borrow::Cow<'_, [u8]> = if module {
            match replace(base + r.start..base + r.end) {
                Some(b) => b.into(),
                None => {
                    out.extend_from_slice(&bytes[s.range.clone()]);
                    continue;
                }
            }
        } else {
            let mut inner = Vec::with_capacity(r.len());
            component(&bytes[r.clone()], base + r.start, replace, &mut inner);
            inner.into()
        };
        out.push(id);
        wasm_encoder::Encode::encode(&new.len(), out);
        out.extend_from_slice(&new);
    }
}

//! Part of stage 6 of `weld link --component`: wit-component is given a
//! stub of the linked module, every function body `unreachable`, and the
//! real code section is spliced into the component it makes.
//!
//! wit-component reads a module's imports, exports, types and custom
//! sections, never its function bodies, but it parses and copies the whole
//! module several times (to strip the `component-type` sections, to merge
//! `producers`, to embed it). The code section is most of a linked module:
//! the stub spares those passes over it.
//!
//! Why the result is the component wit-component makes of the real module:
//! the stub is the module byte for byte except for the code section's
//! contents, which wit-component copies as they are. The embedded stub is
//! found (the first core module of the component whose code section is
//! the stub's, unchanged) and its code section replaced by the real one;
//! where that does not hold, the caller encodes the real module instead.
//! The component is validated whole afterwards either way.

use std::ops::Range;

use wasm_encoder::Encode;

/// A top-level section of a core module: its id, the whole section
/// (header included) and its contents.
struct Section {
    id: u8,
    whole: Range<usize>,
    contents: Range<usize>,
}

/// The top-level sections of core module `bytes` (only headers are read),
/// or `None` when they are not well framed.
fn sections(bytes: &[u8]) -> Option<Vec<Section>> {
    if bytes.get(..8)? != wasm_encoder::Module::HEADER {
        return None;
    }
    let mut reader = wasmparser::BinaryReader::new(bytes, 0);
    reader.skip(|r| r.read_bytes(8).map(|_| ())).ok()?;
    let mut out = Vec::new();
    while !reader.eof() {
        let start = reader.original_position() as usize;
        let id = reader.read_u8().ok()?;
        let len = reader.read_var_u32().ok()? as usize;
        let at = reader.original_position() as usize;
        let end = at.checked_add(len).filter(|&e| e <= bytes.len())?;
        reader.skip(|r| r.read_bytes(len).map(|_| ())).ok()?;
        out.push(Section {
            id,
            whole: start..end,
            contents: at..end,
        });
    }
    Some(out)
}

/// The stub of `module`: the same bytes but for the code section's
/// contents, one `unreachable` body per function, with those contents.
/// `None` when the module has no code section worth replacing.
pub fn stub(module: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let secs = sections(module)?;
    let code = secs.iter().find(|s| s.id == 10)?;
    let mut reader = wasmparser::BinaryReader::new(&module[code.contents.clone()], 0);
    let count = reader.read_var_u32().ok()?;
    // (A body: no locals, `unreachable`, `end`, after its size.)
    let body = [3u8, 0x00, 0x00, 0x0b];
    if code.contents.len() <= count as usize * body.len() + 5 {
        return None;
    }
    let mut contents = Vec::with_capacity(5 + count as usize * body.len());
    count.encode(&mut contents);
    for _ in 0..count {
        contents.extend_from_slice(&body);
    }
    let mut stub = Vec::with_capacity(module.len() - code.contents.len() + contents.len() + 5);
    stub.extend_from_slice(&module[..code.whole.start]);
    stub.push(10);
    contents.encode(&mut stub);
    stub.extend_from_slice(&module[code.whole.end..]);
    Some((stub, contents))
}

/// `component` (what wit-component made of the stub whose code section
/// contents are `stub_code`) with the real code section, `module`'s, in
/// the embedded stub's place; `None` when the embedded stub is not found
/// unchanged.
pub fn splice(component: &[u8], stub_code: &[u8], module: &[u8]) -> Option<Vec<u8>> {
    let real = sections(module)?.into_iter().find(|s| s.id == 10)?;
    let real = &module[real.contents];
    for top in weld_format::sections::sections(component).ok()? {
        let Some(nested) = top.nested() else { continue };
        if !matches!(top.payload, wasmparser::Payload::ModuleSection { .. }) {
            continue;
        }
        let embedded = &component[nested.clone()];
        let secs = sections(embedded)?;
        let Some(code) = secs.iter().find(|s| s.id == 10) else {
            continue;
        };
        if embedded[code.contents.clone()] != *stub_code {
            continue;
        }
        // The embedded module with the real code section.
        let mut inner = Vec::with_capacity(embedded.len() - stub_code.len() + real.len() + 5);
        inner.extend_from_slice(&embedded[..code.whole.start]);
        inner.push(10);
        real.encode(&mut inner);
        inner.extend_from_slice(&embedded[code.whole.end..]);
        let mut out = Vec::with_capacity(component.len() - embedded.len() + inner.len() + 5);
        out.extend_from_slice(&component[..top.range.start]);
        out.push(1);
        inner.encode(&mut out);
        out.extend_from_slice(&component[top.range.end..]);
        return Some(out);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::ComponentOptions;
    use wit_parser::{LiftLowerAbi, ManglingAndAbi, Resolve};

    /// A core module of a small world, with its `component-type` section,
    /// whose function bodies are longer than the stub's.
    fn module() -> Vec<u8> {
        let mut resolve = Resolve::default();
        let pkg = resolve
            .push_str(
                "t.wit",
                "package t:t; world w { import f: func(x: u32) -> u32; export g: func(x: u32) -> string; }",
            )
            .unwrap();
        let world = resolve.select_world(&[pkg], Some("w")).unwrap();
        let dummy = wit_component::dummy_module(&resolve, world, ManglingAndAbi::Legacy(LiftLowerAbi::Sync));
        // Every body: twenty `unreachable`s.
        let secs = sections(&dummy).unwrap();
        let code = secs.iter().find(|s| s.id == 10).unwrap();
        let count = wasmparser::BinaryReader::new(&dummy[code.contents.clone()], 0)
            .read_var_u32()
            .unwrap();
        let mut contents = Vec::new();
        count.encode(&mut contents);
        for _ in 0..count {
            contents.push(22);
            contents.push(0);
            contents.extend([0u8; 20]);
            contents.push(0x0b);
        }
        let mut m = dummy[..code.whole.start].to_vec();
        m.push(10);
        contents.encode(&mut m);
        m.extend_from_slice(&dummy[code.whole.end..]);
        wit_component::embed_component_metadata(
            &mut m,
            &resolve,
            world,
            wit_component::StringEncoding::UTF8,
            false,
        )
        .unwrap();
        m
    }

    #[test]
    fn the_spliced_component_is_the_one_wit_component_makes_of_the_module() {
        let m = module();
        let opts = ComponentOptions::default();
        let direct = crate::link::component::encode(&m, &opts).unwrap();
        let (stub, code) = stub(&m).expect("the module has a code section larger than its stub's");
        assert!(stub.len() < m.len());
        let spliced = splice(&crate::link::component::encode(&stub, &opts).unwrap(), &code, &m)
            .expect("the embedded stub is found");
        assert_eq!(spliced, direct);
        assert_eq!(crate::link::component::wrap(&m, &opts, true).unwrap(), direct);
        weld_format::validate::validate(&spliced, true).unwrap();
    }

    #[test]
    fn a_component_without_the_stub_is_not_spliced() {
        let m = module();
        let opts = ComponentOptions::default();
        let (_, code) = stub(&m).unwrap();
        // wit-component's component of the real module holds no stub.
        let direct = crate::link::component::encode(&m, &opts).unwrap();
        assert!(splice(&direct, &code, &m).is_none());
        // Nor does a cut or foreign input.
        assert!(splice(&direct[..direct.len() / 2], &code, &m).is_none());
        assert!(stub(b"\0asm\x01\0\0\0\x0a\x05").is_none());
    }
}

//! Identical core modules inside different children, defined once.
//!
//! Components built by one toolchain carry the same runtime (componentize-py:
//! libpython, libc, the wasi-emulated libraries, glue). A core module that
//! is byte for byte the same in two or more distinct children, at any depth
//! inside them (and at least `min_size` bytes), is defined once in the
//! composed component, before the children, and each definition of it is
//! replaced, at the same position, by `alias outer d <m> (core module)`, `d`
//! the nesting depth below the composed component. (The composed component
//! is a common ancestor of every child; hoisting to it rather than to the
//! nearest common ancestor keeps one definition for the whole result.)
//! The child's core module index space keeps its numbering, and nothing
//! else in it changes: every other section is copied byte for byte.
//!
//! Input: the distinct children's bytes. Output: the modules to define
//! first (borrowed), and the rewritten bytes of each child that uses one.
//! Cost: one top-level section walk and one blake3 per module per child;
//! SHA-256 only for the modules hoisted (for the link map).

use std::collections::HashMap;

use wasm_encoder::{Alias, ComponentAliasSection, ComponentOuterAliasKind};
use wasmparser::Payload;
use weld_format::ContentId;

use weld_format::sections::sections;

/// A module defined once in the composed component.
#[derive(Debug)]
pub struct HoistedModule<'a> {
    /// Its bytes, borrowed from the first child that has it.
    pub bytes: &'a [u8],
    /// Its SHA-256.
    pub sha256: [u8; 32],
    /// The distinct children that use it, in order.
    pub users: Vec<ContentId>,
}

/// What [`hoist`] decided.
#[derive(Debug, Default)]
pub struct Hoist<'a> {
    /// The modules to define first, in order: module `h` is core module `h`
    /// of the composed component.
    pub modules: Vec<HoistedModule<'a>>,
    /// For each distinct child, its rewritten bytes if it uses a hoisted module.
    pub rewritten: Vec<Option<Vec<u8>>>,
}

/// One big core module found in a child: where, how deep, what.
struct Found {
    /// Section positions from the child's top level down through nested
    /// component sections to the module's own section.
    path: Vec<usize>,
    /// Its bytes.
    range: std::ops::Range<usize>,
    /// The bytes it lies in (the child, or a nested component of it).
    within: usize,
    hash: blake3::Hash,
}

/// Every core module of at least `min_size` bytes in `bytes`, at any depth.
fn walk<'a>(
    bytes: &'a [u8],
    path: &mut Vec<usize>,
    min_size: usize,
    nests: &mut Vec<&'a [u8]>,
    out: &mut Vec<Found>,
) {
    let Ok(secs) = sections(bytes) else { return };
    let within = nests.len();
    nests.push(bytes);
    for (pos, s) in secs.iter().enumerate() {
        let Some(range) = s.nested() else { continue };
        path.push(pos);
        match s.payload {
            Payload::ModuleSection { .. } if range.len() >= min_size => out.push(Found {
                path: path.clone(),
                hash: blake3::hash(&bytes[range.clone()]),
                range,
                within,
            }),
            Payload::ComponentSection { .. } => walk(&bytes[range], path, min_size, nests, out),
            _ => {}
        }
        path.pop();
    }
}

/// `bytes` (a component `depth` levels below the composed one) with the
/// modules at the paths in `replace` turned into outer aliases; `None` when
/// nothing under `prefix` changes.
fn rewrite(
    bytes: &[u8],
    prefix: &mut Vec<usize>,
    depth: u32,
    replace: &HashMap<Vec<usize>, u32>,
) -> Option<Vec<u8>> {
    if !replace.keys().any(|p| p.starts_with(prefix)) {
        return None;
    }
    let secs = sections(bytes).ok()?;
    let mut out = wasm_encoder::Component::new();
    for (pos, s) in secs.iter().enumerate() {
        prefix.push(pos);
        if let Some(&m) = replace.get(prefix.as_slice()) {
            let mut aliases = ComponentAliasSection::new();
            aliases.alias(Alias::Outer {
                kind: ComponentOuterAliasKind::CoreModule,
                count: depth,
                index: m,
            });
            out.section(&aliases);
        } else if let (Payload::ComponentSection { .. }, Some(range)) = (&s.payload, s.nested()) {
            match rewrite(&bytes[range], prefix, depth + 1, replace) {
                // A component section holds the whole nested component.
                Some(inner) => {
                    out.section(&wasm_encoder::RawSection { id: 4, data: &inner });
                }
                None => {
                    out.section(&s.raw());
                }
            }
        } else {
            out.section(&s.raw());
        }
        prefix.pop();
    }
    Some(out.finish())
}

/// Finds the core modules shared by distinct children (`used`: the ones
/// embedded; at any depth inside them) and rewrites the children to alias them: a module `d` levels down
/// becomes `alias outer d`. A child that does not parse is left as it is
/// (the output's validation names it).
pub fn hoist<'a>(contents: &[&'a [u8]], used: &[bool], min_size: usize) -> Hoist<'a> {
    let mut found: Vec<Vec<Found>> = Vec::with_capacity(contents.len());
    let mut nests: Vec<Vec<&'a [u8]>> = Vec::with_capacity(contents.len());
    let mut users: HashMap<blake3::Hash, Vec<ContentId>> = HashMap::new();
    let mut order: Vec<blake3::Hash> = Vec::new();
    for (k, bytes) in contents.iter().enumerate() {
        let (mut mine, mut within) = (Vec::new(), Vec::new());
        if used[k] {
            walk(bytes, &mut Vec::new(), min_size, &mut within, &mut mine);
        }
        for f in &mine {
            let u = users.entry(f.hash).or_insert_with(|| {
                order.push(f.hash);
                Vec::new()
            });
            let k = ContentId(k as u32);
            if u.last() != Some(&k) {
                u.push(k);
            }
        }
        found.push(mine);
        nests.push(within);
    }
    // Shared by two or more distinct children: hoisted, in first-seen order.
    let mut index: HashMap<blake3::Hash, u32> = HashMap::new();
    let mut modules = Vec::new();
    for hash in order {
        let u = &users[&hash];
        if u.len() < 2 {
            continue;
        }
        let k = u[0].as_usize();
        let f = found[k]
            .iter()
            .find(|f| f.hash == hash)
            .expect("a user has the module");
        let bytes = &nests[k][f.within][f.range.clone()];
        index.insert(hash, modules.len() as u32);
        modules.push(HoistedModule {
            bytes,
            sha256: weld_format::digest::sha256(bytes),
            users: u.clone(),
        });
    }
    let rewritten = contents
        .iter()
        .zip(&found)
        .map(|(bytes, mine)| {
            let replace: HashMap<Vec<usize>, u32> = mine
                .iter()
                .filter_map(|f| index.get(&f.hash).map(|&m| (f.path.clone(), m)))
                .collect();
            rewrite(bytes, &mut Vec::new(), 1, &replace)
        })
        .collect();
    Hoist { modules, rewritten }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(k: i32, pad: usize) -> String {
        let mut m = format!("(core module (func (export \"f\") (result i32) i32.const {k})");
        for i in 0..pad {
            m.push_str(&format!(" (func (export \"p{i}\") (result i32) i32.const {i})"));
        }
        m.push(')');
        m
    }

    #[test]
    fn shared_modules_become_outer_aliases_and_nothing_else_changes() {
        let a = wat::parse_str(format!(
            "(component {} {} (component {}))",
            module(1, 150),
            module(2, 150),
            module(1, 150)
        ))
        .unwrap();
        let b = wat::parse_str(format!("(component {} {})", module(3, 150), module(1, 150))).unwrap();
        let h = hoist(&[&a, &b], &[true, true], 1024);
        assert_eq!(h.modules.len(), 1);
        assert_eq!(h.modules[0].users, [ContentId(0), ContentId(1)]);
        let a2 = h.rewritten[0].as_deref().unwrap();
        let b2 = h.rewritten[1].as_deref().unwrap();
        // Every section but the replaced ones is byte for byte the same; the
        // replaced ones are outer aliases of module 0, one level per depth.
        let (old, new) = (sections(&a).unwrap(), sections(a2).unwrap());
        assert_eq!(old.len(), new.len());
        assert!(matches!(new[0].payload, Payload::ComponentAliasSection(_)));
        assert_eq!(&a[old[1].range.clone()], &a2[new[1].range.clone()]);
        let inner = &a2[new[2].nested().unwrap()];
        let printed = wasmprinter::print_bytes(inner).unwrap();
        assert!(printed.contains("alias outer 2 0 (core module"), "{printed}");
        let printed = wasmprinter::print_bytes(b2).unwrap();
        assert!(printed.contains("alias outer 1 0 (core module"), "{printed}");
        // Below the minimum size nothing is shared.
        assert!(hoist(&[&a, &b], &[true, true], 1 << 20).modules.is_empty());
        // A child that is not embedded shares nothing.
        assert!(hoist(&[&a, &b], &[true, false], 1024).modules.is_empty());
    }
}

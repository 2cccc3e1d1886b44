//! Part of stage 5, **plan**: every import another input provides, linked
//! to the provider's item. The laid-out spaces + links → each input's
//! function, table, memory, global and tag maps (imports first, then its
//! definitions), or every import that cannot be linked.
//!
//! Inputs are taken in instantiation order, so a provider's own imports
//! are linked before anything imports from it, and an export that
//! re-exports an import is followed to the definition. (`weld link` also
//! links in cycles: an import of an item a later input defines lands at
//! that item's place, found from where that input's definitions start.)
//! Each link is type-checked by the Wasm import subtyping rules: a
//! function's type a subtype of the import's, an immutable global's
//! covariant and a mutable one's equal, tables and memories by their
//! limits, tags equal. A mismatch names both sides in WAT syntax.
//!
//! Cost: O(imports), each followed through at most one re-export per
//! input; every problem is reported, not only the first.

use wasm_encoder::reencode::Reencode;
use wasmparser::TypeRef;
use weld_format::wat::Wat;
use weld_format::{FuncIdx, GlobalIdx, InputId, MemIdx, PerSpace, Space, TableIdx, TagIdx, TypeIdx};

use super::layout::{Definitions, ItemTypes, KeptImports};
use super::SpaceMaps;
use crate::error::{FuseError, Item, Problem};
use crate::fuse::context::FuseCx;
use crate::fuse::types::TypePlan;
use crate::resolve::Target;

/// Links every import of every input that `kept` does not keep, in
/// instantiation order, and fills each input's maps of the spaces imports
/// add to: its imports, then its definitions from `defined`.
pub(crate) fn link(
    cx: &FuseCx<'_, '_>,
    order: &[InputId],
    types: &TypePlan,
    items: &ItemTypes,
    kept: &KeptImports<'_>,
    defined: &Definitions,
    maps: &mut [SpaceMaps],
) -> Result<(), FuseError> {
    let FuseCx {
        files,
        modules,
        links,
        ..
    } = *cx;
    let mut errors: Vec<Problem> = Vec::new();
    let import_pos: Vec<PerSpace<Vec<u32>>> = modules
        .iter()
        .map(|m| {
            let mut pos = PerSpace::<Vec<u32>>::default();
            for (i, imp) in m.imports.iter().enumerate() {
                pos[Space::of_type_ref(&imp.ty)].push(i as u32);
            }
            pos
        })
        .collect();
    for &k in order {
        let m = modules[k.as_usize()];
        let ki = k.as_usize();
        // This input's maps of the import-bearing spaces, imports first.
        let mut own = SpaceMaps {
            funcs: Vec::with_capacity(m.func_types.len()),
            ..SpaceMaps::default()
        };
        let placed = Placed {
            types,
            items,
            maps,
            defined_base: &defined.base,
            kept: &kept.kept,
            import_pos: &import_pos,
        };
        for (i, imp) in m.imports.iter().enumerate() {
            let out = match (links.target(k, i), kept.kept[ki][i]) {
                (_, Some(idx)) => idx,
                (Target::Input { provider, export, .. }, None) => {
                    match link_import(cx, &placed, k, imp, *provider, *export) {
                        Ok(idx) => idx,
                        Err(e) => {
                            errors.push(*e);
                            0
                        }
                    }
                }
                (Target::Missing { reason, .. }, None) => {
                    errors.push(Problem::new(files[ki], Item::import(imp), reason.clone()));
                    0
                }
                (_, None) => unreachable!("host and unresolved imports are kept by `layout::kept_imports`"),
            };
            own.push(Space::of_type_ref(&imp.ty), out);
        }
        let base = defined.base[ki];
        let defined = |s: Space, len: usize| (0..len as u32).map(move |d| base[s] + d);
        let n_funcs = m.func_types.len() - m.imported.funcs as usize;
        own.funcs.extend(defined(Space::Func, n_funcs).map(FuncIdx));
        own.tables
            .extend(defined(Space::Table, m.tables.len()).map(TableIdx));
        own.memories
            .extend(defined(Space::Memory, m.memories.len()).map(MemIdx));
        own.globals
            .extend(defined(Space::Global, m.globals.len()).map(GlobalIdx));
        own.tags.extend(defined(Space::Tag, m.tags.len()).map(TagIdx));
        let mp = &mut maps[ki];
        (mp.funcs, mp.tables, mp.memories, mp.globals, mp.tags) =
            (own.funcs, own.tables, own.memories, own.globals, own.tags);
    }
    if !errors.is_empty() {
        return Err(FuseError::Imports(errors));
    }
    Ok(())
}

/// What an import is linked against: the types and items placed so far.
struct Placed<'p> {
    types: &'p TypePlan,
    items: &'p ItemTypes,
    maps: &'p [SpaceMaps],
    /// Where each input's definitions start, per space.
    defined_base: &'p [PerSpace<u32>],
    /// Each input's imports that stay imports, at their output index.
    kept: &'p [Vec<Option<u32>>],
    /// Per input and space, the position of each import in its import list.
    import_pos: &'p [PerSpace<Vec<u32>>],
}

/// The output index of item `index` of `space` in input `p`. An input whose
/// imports [`link`] has linked answers from its maps; otherwise a definition
/// is at its base, and an import is followed to what it links to (a loop of
/// re-exports is an error).
fn provided(
    cx: &FuseCx<'_, '_>,
    placed: &Placed<'_>,
    p: usize,
    space: Space,
    index: u32,
) -> Result<u32, String> {
    let (mut p, mut space, mut index) = (p, space, index);
    for _ in 0..=cx.modules.len() {
        if let Some(i) = placed.maps[p].get(space, index) {
            return Ok(i);
        }
        let m = cx.modules[p];
        let imported = placed.import_pos[p][space].len() as u32;
        let total = imported
            + match space {
                Space::Func => (m.func_types.len() as u32).saturating_sub(imported),
                Space::Table => m.tables.len() as u32,
                Space::Memory => m.memories.len() as u32,
                Space::Global => m.globals.len() as u32,
                Space::Tag => m.tags.len() as u32,
                _ => 0,
            };
        if index >= total {
            return Err(format!(
                "`{}` exports {space} {index}, which is out of range",
                cx.names[p]
            ));
        }
        if index >= imported {
            return Ok(placed.defined_base[p][space] + (index - imported));
        }
        let pos = placed.import_pos[p][space][index as usize] as usize;
        if let Some(k) = placed.kept[p].get(pos).copied().flatten() {
            return Ok(k);
        }
        match cx.links.target(InputId(p as u32), pos) {
            Target::Input { provider, export, .. } => {
                let ex = cx.modules[provider.as_usize()].exports[*export as usize];
                (p, space, index) = (provider.as_usize(), Space::of_kind(ex.kind), ex.index);
            }
            _ => {
                return Err(format!(
                    "`{}` re-exports an import that is not linked",
                    cx.names[p]
                ))
            }
        }
    }
    Err("the symbol is a cycle of re-exports: each library exports what it imports from the next".into())
}

/// Resolves import `imp` of input `k` to export `export` of `provider` and
/// checks the types.
fn link_import(
    cx: &FuseCx<'_, '_>,
    placed: &Placed<'_>,
    k: InputId,
    imp: &wasmparser::Import<'_>,
    provider: InputId,
    export: u32,
) -> Result<u32, Box<Problem>> {
    let FuseCx {
        files,
        names,
        modules,
        ..
    } = *cx;
    let ki = k.as_usize();
    let pi = provider.as_usize();
    let err = |reason: String| Box::new(Problem::new(files[ki], Item::import(imp), reason));
    let ex = modules[pi].exports[export as usize];
    let want = Space::of_type_ref(&imp.ty);
    let have = Space::of_kind(ex.kind);
    if want != have {
        return Err(err(format!(
            "expected {want}, but `{}` exports `{}` as a {have}",
            names[pi], ex.name
        )));
    }
    let idx = provided(cx, placed, pi, have, ex.index)
        .map_err(|reason| err(format!("`{}` exports `{}`: {reason}", names[pi], ex.name)))?;
    check_type(placed, &placed.maps[ki], imp.ty, idx).map_err(|bad| match bad {
        BadType::OutOfRange(reason) => err(reason),
        BadType::Mismatch { expected, found } => err(format!(
            "type mismatch: expected {expected}, but `{}` exports `{}` as {found}",
            names[pi], ex.name
        )),
    })?;
    Ok(idx)
}

/// Why an import's type does not accept its provider's item.
enum BadType {
    /// The import's own type is out of range in its input.
    OutOfRange(String),
    /// The types differ; both in WAT syntax.
    Mismatch {
        /// What the import declares.
        expected: String,
        /// What the provider's item is.
        found: String,
    },
}

/// Checks import type `ty`, in the importer's terms (`mine` is its maps),
/// against item `idx` of its space in the output, by the Wasm import
/// subtyping rules.
fn check_type(placed: &Placed<'_>, mine: &SpaceMaps, ty: TypeRef, idx: u32) -> Result<(), BadType> {
    let Placed { types, items, .. } = *placed;
    let out_of_range = |what: &str| BadType::OutOfRange(format!("{what} out of range"));
    let mismatch = |expected: String, found: String| Err(BadType::Mismatch { expected, found });
    let my_type = |t: u32| mine.types.get(t as usize).copied();
    // A function type: its body, and for a GC type its index and supertype
    // (declared subtyping is what matches).
    let ty_text = |t: TypeIdx, indexed: bool| {
        let body = types.text.get(t.as_usize()).cloned().unwrap_or_default();
        match types.supertypes.get(t.as_usize()).copied().flatten() {
            Some(sup) => types.explain(&format!("{body} (type {} <: {sup})", t.0)),
            None if indexed => types.explain(&format!("{body} (type {})", t.0)),
            None => types.explain(&body),
        }
    };
    match ty {
        TypeRef::Func(t) | TypeRef::FuncExact(t) => {
            let expected = my_type(t).ok_or_else(|| out_of_range(&format!("type {t}")))?;
            let found = items.funcs[idx as usize];
            if !types.is_subtype(found, expected) {
                // Declared subtyping, or two types that print alike: the
                // indices say which is which.
                let sub = |t: TypeIdx| types.supertypes.get(t.as_usize()).copied().flatten().is_some();
                let same = types.text.get(expected.as_usize()) == types.text.get(found.as_usize());
                let indexed = same || sub(expected) || sub(found);
                return mismatch(ty_text(expected, indexed), ty_text(found, indexed));
            }
        }
        TypeRef::Tag(t) => {
            let expected = my_type(t.func_type_idx).ok_or_else(|| out_of_range("tag type"))?;
            let found = items.tags[idx as usize];
            if found != expected {
                return mismatch(
                    format!("tag {}", ty_text(expected, false)),
                    format!("tag {}", ty_text(found, false)),
                );
            }
        }
        TypeRef::Global(g) => {
            let expected = mine
                .remap()
                .global_type(g)
                .map_err(|_| out_of_range("global type"))?;
            let found = items.globals[idx as usize];
            // Immutable: covariant; mutable: equal (both are read and written).
            let ok = found.mutable == expected.mutable
                && found.shared == expected.shared
                && if expected.mutable {
                    found.val_type == expected.val_type
                } else {
                    types.is_val_subtype(found.val_type, expected.val_type)
                };
            if !ok {
                return mismatch(
                    types.explain(&Wat(expected).to_string()),
                    types.explain(&Wat(found).to_string()),
                );
            }
        }
        TypeRef::Table(t) => {
            let expected = mine
                .remap()
                .table_type(t)
                .map_err(|_| out_of_range("table type"))?;
            let found = items.tables[idx as usize];
            let ok = found.element_type == expected.element_type
                && found.table64 == expected.table64
                && found.shared == expected.shared
                && limits_match(found.minimum, found.maximum, expected.minimum, expected.maximum);
            if !ok {
                return mismatch(
                    types.explain(&Wat(expected).to_string()),
                    types.explain(&Wat(found).to_string()),
                );
            }
        }
        TypeRef::Memory(mt) => {
            let expected = mine
                .remap()
                .memory_type(mt)
                .map_err(|_| out_of_range("memory type"))?;
            let found = items.memories[idx as usize];
            let ok = found.memory64 == expected.memory64
                && found.shared == expected.shared
                && found.page_size_log2 == expected.page_size_log2
                && limits_match(found.minimum, found.maximum, expected.minimum, expected.maximum);
            if !ok {
                return mismatch(Wat(expected).to_string(), Wat(found).to_string());
            }
        }
    }
    Ok(())
}

/// Import subtyping of limits: at least the minimum, and within the maximum
/// when the import declares one.
fn limits_match(found_min: u64, found_max: Option<u64>, want_min: u64, want_max: Option<u64>) -> bool {
    found_min >= want_min
        && match want_max {
            None => true,
            Some(w) => found_max.is_some_and(|f| f <= w),
        }
}

#[cfg(test)]
mod tests {
    use weld_format::Inputs;

    use crate::{fuse, FuseOptions};

    /// The error of fusing `a` (which imports from `b`) with `b`.
    fn fuse_error(a: &str, b: &str) -> String {
        let inputs =
            Inputs::from_memory([("a", a.as_bytes().to_vec()), ("b", b.as_bytes().to_vec())]).unwrap();
        fuse(&FuseOptions::default(), &inputs).unwrap_err().to_string()
    }

    fn assert_no_debug(text: &str) {
        for debug in ["RefType {", "Concrete(", "Some(", "I32", "Ref("] {
            assert!(!text.contains(debug), "{text}");
        }
    }

    /// Whether `a` (importing from `b`) fuses with `b`; the error if not.
    fn links(a: &str, b: &str) -> Result<(), String> {
        let inputs =
            Inputs::from_memory([("a", a.as_bytes().to_vec()), ("b", b.as_bytes().to_vec())]).unwrap();
        match fuse(&FuseOptions::default(), &inputs) {
            Ok(out) => {
                wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
                    .validate_all(&out.bytes)
                    .unwrap();
                Ok(())
            }
            Err(e) => {
                let e = e.to_string();
                assert_no_debug(&e);
                assert!(e.contains("type mismatch") || e.contains("expected"), "{e}");
                Err(e)
            }
        }
    }

    /// `b`: a struct hierarchy `$super <: $sub`, a function type pair, and
    /// exports of every kind typed with them.
    const GC_PROVIDER: &str = r#"(module
        (type $super (sub (struct)))
        (type $sub (sub $super (struct (field i32))))
        (type $fsuper (sub (func (result anyref))))
        (type $fsub (sub $fsuper (func (result anyref))))
        (func (export "fsub") (type $fsub) ref.null any)
        (func (export "fsuper") (type $fsuper) ref.null any)
        (global (export "sub") (ref $sub) (struct.new $sub (i32.const 1)))
        (global (export "subnull") (ref null $sub) (ref.null $sub))
        (global (export "i31") i31ref (ref.i31 (i32.const 5)))
        (global (export "msub") (mut (ref null $sub)) (ref.null $sub))
        (table (export "t") 2 10 (ref null $sub))
        (memory (export "m") 1 2)
        (tag (export "e") (param i32)))"#;

    /// `a` importing one item declared as `import`, with the same types.
    fn importer(import: &str) -> String {
        format!(
            r#"(module
                (type $super (sub (struct)))
                (type $sub (sub $super (struct (field i32))))
                (type $fsuper (sub (func (result anyref))))
                (type $fsub (sub $fsuper (func (result anyref))))
                (import "b" {import}))"#
        )
    }

    #[test]
    fn functions_match_their_declared_supertypes() {
        assert!(links(&importer(r#""fsub" (func (type $fsuper))"#), GC_PROVIDER).is_ok());
        assert!(links(&importer(r#""fsub" (func (type $fsub))"#), GC_PROVIDER).is_ok());
        let e = links(&importer(r#""fsuper" (func (type $fsub))"#), GC_PROVIDER).unwrap_err();
        assert!(e.contains("expected (func (result anyref)) (type 3 <: 2)"), "{e}");
        assert!(links(&importer(r#""fsub" (func (result i32))"#), GC_PROVIDER).is_err());
    }

    #[test]
    fn immutable_globals_are_covariant_and_mutable_ones_invariant() {
        // (ref $sub) <: (ref $super) <: (ref null $super) <: structref <: eqref <: anyref.
        for ty in [
            "(ref $super)",
            "(ref null $super)",
            "structref",
            "eqref",
            "anyref",
            "(ref struct)",
            "(ref $sub)",
        ] {
            assert!(
                links(&importer(&format!(r#""sub" (global {ty})"#)), GC_PROVIDER).is_ok(),
                "{ty}"
            );
        }
        // Nullable is not below non-null; another hierarchy is never below.
        let e = links(&importer(r#""subnull" (global (ref $super))"#), GC_PROVIDER).unwrap_err();
        assert!(
            e.ends_with("expected global (ref 0) where 0 = (struct), but `b` exports `subnull` as global (ref null 1) where 1 = (struct (field i32)) <: 0"),
            "{e}"
        );
        assert!(links(&importer(r#""sub" (global funcref)"#), GC_PROVIDER).is_err());
        assert!(links(&importer(r#""sub" (global arrayref)"#), GC_PROVIDER).is_err());
        assert!(links(&importer(r#""i31" (global eqref)"#), GC_PROVIDER).is_ok());
        assert!(links(&importer(r#""i31" (global structref)"#), GC_PROVIDER).is_err());
        // Mutable: the same type only, and mutability must agree.
        assert!(links(&importer(r#""msub" (global (mut (ref null $sub)))"#), GC_PROVIDER).is_ok());
        assert!(links(
            &importer(r#""msub" (global (mut (ref null $super)))"#),
            GC_PROVIDER
        )
        .is_err());
        assert!(links(&importer(r#""msub" (global (ref null $super))"#), GC_PROVIDER).is_err());
        assert!(links(&importer(r#""sub" (global (mut (ref $sub)))"#), GC_PROVIDER).is_err());
    }

    #[test]
    fn tables_memories_and_tags_match_by_limits_and_equal_types() {
        assert!(links(&importer(r#""t" (table 1 (ref null $sub))"#), GC_PROVIDER).is_ok());
        assert!(links(&importer(r#""t" (table 2 20 (ref null $sub))"#), GC_PROVIDER).is_ok());
        // Element types are invariant (tables are written).
        assert!(links(&importer(r#""t" (table 1 (ref null $super))"#), GC_PROVIDER).is_err());
        // Limits: at least the minimum, within the maximum.
        assert!(links(&importer(r#""t" (table 3 (ref null $sub))"#), GC_PROVIDER).is_err());
        assert!(links(&importer(r#""t" (table 1 5 (ref null $sub))"#), GC_PROVIDER).is_err());
        assert!(links(&importer(r#""m" (memory 1 2)"#), GC_PROVIDER).is_ok());
        assert!(links(&importer(r#""m" (memory 1)"#), GC_PROVIDER).is_ok());
        let e = links(&importer(r#""m" (memory 2)"#), GC_PROVIDER).unwrap_err();
        assert!(
            e.ends_with("expected memory 2, but `b` exports `m` as memory 1..2"),
            "{e}"
        );
        assert!(links(&importer(r#""m" (memory i64 1)"#), GC_PROVIDER).is_err());
        assert!(links(&importer(r#""m" (memory 1 2 shared)"#), GC_PROVIDER).is_err());
        assert!(links(&importer(r#""e" (tag (param i32))"#), GC_PROVIDER).is_ok());
        assert!(links(&importer(r#""e" (tag (param i64))"#), GC_PROVIDER).is_err());
    }

    #[test]
    fn global_mismatch_prints_ref_types_in_wat() {
        let e = fuse_error(
            r#"(module (import "b" "g" (global (mut funcref))))"#,
            r#"(module (type $t (func)) (global (export "g") (mut (ref null $t)) (ref.null $t)))"#,
        );
        assert!(
            e.ends_with(
                "type mismatch: expected global mut funcref, but `b` exports `g` as global mut (ref null 0) where 0 = (func)"
            ),
            "{e}"
        );
        assert_no_debug(&e);
    }

    #[test]
    fn global_mismatch_prints_mutability_and_value_type() {
        let e = fuse_error(
            r#"(module (import "b" "g" (global (mut i32))))"#,
            r#"(module (global (export "g") i64 (i64.const 0)))"#,
        );
        assert!(
            e.ends_with("expected global mut i32, but `b` exports `g` as global i64"),
            "{e}"
        );
        assert_no_debug(&e);
    }

    #[test]
    fn table_and_memory_mismatches_print_whole_types() {
        let e = fuse_error(
            r#"(module (import "b" "t" (table 1 externref)))"#,
            r#"(module (table (export "t") 1 2 funcref))"#,
        );
        assert!(
            e.ends_with("expected table 1 externref, but `b` exports `t` as table 1..2 funcref"),
            "{e}"
        );
        let e = fuse_error(
            r#"(module (import "b" "m" (memory 2 3)))"#,
            r#"(module (memory (export "m") 1))"#,
        );
        assert!(
            e.ends_with("expected memory 2..3, but `b` exports `m` as memory 1"),
            "{e}"
        );
        assert_no_debug(&e);
    }

    #[test]
    fn kind_mismatch_names_both_spaces() {
        let e = fuse_error(
            r#"(module (import "b" "x" (global i32)))"#,
            r#"(module (func (export "x")))"#,
        );
        assert!(
            e.ends_with("expected global, but `b` exports `x` as a func"),
            "{e}"
        );
    }
}

//! Stage 3 of `weld link`: the symbol table. Every library's exports, in
//! load order; the first definition of a name wins, as with a dynamic
//! loader. A second strong definition is a duplicate (a warning, or an error
//! with `--warn-duplicates=error`); weak definitions give way silently.

use std::collections::HashMap;

use wasmparser::ExternalKind;
use weld_format::dylink::Dylink;
use weld_format::survey::ModuleSurvey;
use weld_format::InputId;

/// Exports every library has for the loader, never looked up by name.
pub(crate) const PER_LIBRARY: &[&str] = &[
    "_initialize",
    "_start",
    "__wasm_apply_data_relocs",
    "__wasm_call_ctors",
    "__wasm_init_memory",
    "__wasm_init_tls",
    "__tls_base",
    "__tls_size",
    "__tls_align",
    "__dso_handle",
];

/// One definition: a library and the position of the export in its list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Def {
    pub lib: InputId,
    pub export: u32,
}

/// A name defined by two libraries.
#[derive(Debug, Clone)]
pub(crate) struct Duplicate {
    pub name: String,
    pub used: InputId,
    pub other: InputId,
}

/// Definitions by name, one table per kind (a function and a data symbol
/// may share a name across libraries without clashing).
#[derive(Default)]
pub(crate) struct Symbols<'a> {
    funcs: HashMap<&'a str, Def>,
    globals: HashMap<&'a str, Def>,
    tags: HashMap<&'a str, Def>,
    pub duplicates: Vec<Duplicate>,
}

impl<'a> Symbols<'a> {
    /// The table of `libs` (surveys and `dylink.0`, by input) in `load_order`.
    pub fn build(load_order: &[InputId], libs: &[&ModuleSurvey<'a>], dylink: &[Dylink<'a>]) -> Symbols<'a> {
        let mut s = Symbols::default();
        for &k in load_order {
            let m = libs[k.as_usize()];
            for (e, ex) in m.exports.iter().enumerate() {
                if PER_LIBRARY.contains(&ex.name) {
                    continue;
                }
                let table = match ex.kind {
                    ExternalKind::Func | ExternalKind::FuncExact => &mut s.funcs,
                    ExternalKind::Global => &mut s.globals,
                    ExternalKind::Tag => &mut s.tags,
                    _ => continue,
                };
                let def = Def {
                    lib: k,
                    export: e as u32,
                };
                match table.get(ex.name) {
                    None => {
                        table.insert(ex.name, def);
                    }
                    Some(first) => {
                        let weak = dylink[first.lib.as_usize()].is_weak_export(ex.name)
                            || dylink[k.as_usize()].is_weak_export(ex.name);
                        if !weak && first.lib != k {
                            s.duplicates.push(Duplicate {
                                name: ex.name.to_string(),
                                used: first.lib,
                                other: k,
                            });
                        }
                    }
                }
            }
        }
        s
    }

    /// The function named `name`.
    pub fn func(&self, name: &str) -> Option<Def> {
        self.funcs.get(name).copied()
    }

    /// The data symbol (an exported global holding an offset) named `name`.
    pub fn global(&self, name: &str) -> Option<Def> {
        self.globals.get(name).copied()
    }

    /// The tag named `name`.
    pub fn tag(&self, name: &str) -> Option<Def> {
        self.tags.get(name).copied()
    }
}

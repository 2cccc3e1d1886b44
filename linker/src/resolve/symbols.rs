//! Link resolution, stage 2, **symbols**: shared libraries in load order →
//! a [`Binding`] for every import of every library, as a dynamic loader
//! would bind it. `weld link` builds its output from these bindings, and
//! `weld graph` prints them, so both show the same answer.
//!
//! The symbol table holds every library's exports in load order (see
//! [`super::needed`]: breadth-first from MAIN); the first definition of a
//! name wins. A second strong definition is a [`Duplicate`] (a warning, or
//! an error with `--warn-duplicates=error`); weak definitions give way
//! silently. Functions, globals and tags have a table each, so a function
//! and a data symbol may share a name across libraries.
//!
//! Then every import, by namespace:
//! - `env`: the memory, the table and the library's own `__memory_base` and
//!   `__table_base` are the linker's; so are the layout's symbols
//!   (`__stack_pointer`, `__heap_base`, …). Any other function, tag or global
//!   is the first definition of its name; a weak function nothing defines is
//!   a trapping stub.
//! - `GOT.mem`: the address of a data symbol (the first definition, which
//!   must export a constant offset from its library's base) or of a layout
//!   symbol; a weak one nothing defines is address 0.
//! - `GOT.func`: a table slot holding the first definition; a weak one
//!   nothing defines is slot 0.
//! - any other module stays an import of the output (the host's).
//!
//! What nothing defines is listed, every symbol with every library that
//! needs it ([`SymbolResolution::undefined`]), and an import link cannot
//! bind is a [`SymbolFault`] at that import.
//!
//! Cost: O(exports + imports): one hash insert per export, one hash lookup
//! per import.

use std::collections::HashMap;

use wasmparser::{ExternalKind, Import, Operator, TypeRef};
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

/// What kind of symbol an import asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SymbolKind {
    /// A function (`env` or `GOT.func`).
    Function,
    /// A data symbol: its address (`GOT.mem`).
    Data,
    /// A global (`env`).
    Global,
    /// A tag (`env`).
    Tag,
}

impl std::fmt::Display for SymbolKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SymbolKind::Function => "function",
            SymbolKind::Data => "data symbol",
            SymbolKind::Global => "global",
            SymbolKind::Tag => "tag",
        })
    }
}

/// Why an import of a library cannot be bound.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SymbolFault {
    /// A base, a layout symbol or a GOT entry that is not an i32 global.
    #[error("expected an i32 global")]
    ExpectedI32Global,
    /// An `env` import of a kind symbols never have (a memory, a table).
    #[error("not a symbol weld link can provide")]
    NotASymbol,
    /// A `GOT.*` module other than `GOT.mem` and `GOT.func`.
    #[error("unknown GOT namespace")]
    UnknownGotNamespace,
    /// A `GOT.mem` entry whose definition is not a constant offset.
    #[error("`{provider}` exports it, but not as a constant offset")]
    NotConstantOffset {
        /// The library that defines it.
        provider: String,
    },
}

/// A symbol nothing defines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undefined {
    /// Its name.
    pub symbol: String,
    /// What kind of symbol.
    pub kind: SymbolKind,
    /// The libraries that need it.
    pub needed_by: Vec<String>,
}

impl std::fmt::Display for Undefined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "undefined {} `{}`, needed by {}",
            self.kind,
            self.symbol,
            self.needed_by.join(", ")
        )?;
        if self.kind == SymbolKind::Function {
            f.write_str(" (--stub-missing makes undefined functions trapping stubs)")?;
        }
        Ok(())
    }
}

/// A symbol two libraries define (strongly).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    /// Its name.
    pub symbol: String,
    /// The library whose definition is used (the first in load order).
    pub used: String,
    /// The other library.
    pub other: String,
}

impl std::fmt::Display for Duplicate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "symbol `{}` is defined by {} and by {}; the first in load order ({}) is used",
            self.symbol, self.used, self.other, self.used
        )
    }
}

/// One definition: a library and the position of the export in its list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Def {
    pub lib: InputId,
    pub export: u32,
}

/// A symbol the linker defines from its memory layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LayoutSymbol {
    /// The top of the stack: `__stack_pointer`, `__stack_high`, `__global_base`.
    StackHigh,
    /// `__stack_low`: 0.
    StackLow,
    /// `__heap_base`, `__data_end`.
    HeapBase,
    /// `__heap_end`.
    HeapEnd,
}

impl LayoutSymbol {
    /// The layout symbol named `name`.
    pub fn of(name: &str) -> Option<LayoutSymbol> {
        Some(match name {
            "__stack_pointer" | "__stack_high" | "__global_base" => LayoutSymbol::StackHigh,
            "__stack_low" => LayoutSymbol::StackLow,
            "__heap_base" | "__data_end" => LayoutSymbol::HeapBase,
            "__heap_end" => LayoutSymbol::HeapEnd,
            _ => return None,
        })
    }
}

/// What the linker itself provides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LinkerItem {
    /// The one memory.
    Memory,
    /// The one table.
    Table,
    /// The importing library's `__memory_base`.
    MemoryBase,
    /// The importing library's `__table_base`.
    TableBase,
    /// A symbol of the layout.
    Layout(LayoutSymbol),
}

/// The namespace of an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Namespace {
    /// `env`: the symbol itself.
    Env,
    /// `GOT.mem`: a data symbol's address.
    GotMem,
    /// `GOT.func`: a function's table slot.
    GotFunc,
    /// Anything else: not a symbol.
    Other,
}

/// Who provides an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Provider {
    /// Not a symbol: it stays an import of the output.
    Host,
    /// The linker.
    Linker(LinkerItem),
    /// The first definition in load order (`GOT.mem`: see `Data`).
    Library(Def),
    /// A data symbol (`GOT.mem`): the first definition, an exported global
    /// holding this offset from its library's `__memory_base`.
    Data {
        /// The definition.
        def: Def,
        /// The offset it holds.
        offset: u32,
    },
    /// A weak reference nothing defines: null (a trapping stub for an `env`
    /// function, address or slot 0 for a GOT entry).
    WeakUndefined,
    /// Nothing defines it.
    Undefined(SymbolKind),
    /// Link cannot bind it.
    Invalid(SymbolFault),
}

/// How an import found its provider, in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SymbolRule {
    /// The first definition in load order.
    Definition,
    /// The linker's own.
    Linker,
    /// A weak reference nothing defines.
    WeakUndefined,
}

impl std::fmt::Display for SymbolRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SymbolRule::Definition => "symbol",
            SymbolRule::Linker => "linker",
            SymbolRule::WeakUndefined => "weak undefined",
        })
    }
}

impl Provider {
    /// The rule, for a provider that binds the import.
    pub fn rule(&self) -> Option<SymbolRule> {
        match self {
            Provider::Linker(_) => Some(SymbolRule::Linker),
            Provider::Library(_) | Provider::Data { .. } => Some(SymbolRule::Definition),
            Provider::WeakUndefined => Some(SymbolRule::WeakUndefined),
            Provider::Host | Provider::Undefined(_) | Provider::Invalid(_) => None,
        }
    }

    /// The defining library, for a provider that is one.
    pub fn library(&self) -> Option<Def> {
        match self {
            Provider::Library(def) | Provider::Data { def, .. } => Some(*def),
            _ => None,
        }
    }
}

/// One import, bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Binding {
    /// Its namespace.
    pub ns: Namespace,
    /// Who provides it.
    pub provider: Provider,
}

/// A name two libraries define.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DuplicateDef<'a> {
    pub name: &'a str,
    pub used: InputId,
    pub other: InputId,
}

/// Definitions by name, one table per kind.
#[derive(Default)]
struct SymbolTable<'a> {
    funcs: HashMap<&'a str, Def>,
    globals: HashMap<&'a str, Def>,
    tags: HashMap<&'a str, Def>,
}

impl<'a> SymbolTable<'a> {
    /// The table of `libs` in `load_order`, and the names defined twice.
    fn build(
        load_order: &[InputId],
        libs: &[&ModuleSurvey<'a>],
        dylink: &[Dylink<'a>],
    ) -> (SymbolTable<'a>, Vec<DuplicateDef<'a>>) {
        let mut s = SymbolTable::default();
        let mut duplicates = Vec::new();
        for &k in load_order {
            for (e, ex) in libs[k.as_usize()].exports.iter().enumerate() {
                if PER_LIBRARY.contains(&ex.name) {
                    continue;
                }
                let table = match ex.kind {
                    ExternalKind::Func | ExternalKind::FuncExact => &mut s.funcs,
                    ExternalKind::Global => &mut s.globals,
                    ExternalKind::Tag => &mut s.tags,
                    _ => continue,
                };
                let Some(first) = table.get(ex.name) else {
                    table.insert(
                        ex.name,
                        Def {
                            lib: k,
                            export: e as u32,
                        },
                    );
                    continue;
                };
                let weak = dylink[first.lib.as_usize()].is_weak_export(ex.name)
                    || dylink[k.as_usize()].is_weak_export(ex.name);
                if !weak && first.lib != k {
                    duplicates.push(DuplicateDef {
                        name: ex.name,
                        used: first.lib,
                        other: k,
                    });
                }
            }
        }
        (s, duplicates)
    }
}

/// Every import of every library, bound.
#[derive(Debug)]
pub(crate) struct SymbolResolution<'a> {
    /// `bindings[input][import]`, imports in survey order.
    pub bindings: Vec<Vec<Binding>>,
    /// Names defined by two libraries, in load order.
    pub duplicates: Vec<DuplicateDef<'a>>,
}

/// Binds every import of `libs` (surveys and `dylink.0`, by input; `names`
/// are their link names) by the symbols defined in `load_order`.
pub(crate) fn resolve_symbols<'a>(
    load_order: &[InputId],
    libs: &[&ModuleSurvey<'a>],
    dylink: &[Dylink<'a>],
    names: &[&str],
) -> SymbolResolution<'a> {
    let (table, duplicates) = SymbolTable::build(load_order, libs, dylink);
    let cx = Binder {
        table: &table,
        libs,
        names,
    };
    let mut bindings = vec![Vec::new(); libs.len()];
    for &k in load_order {
        let d = &dylink[k.as_usize()];
        bindings[k.as_usize()] = libs[k.as_usize()]
            .imports
            .iter()
            .map(|imp| cx.bind(imp, d.is_weak_import(imp.module, imp.name)))
            .collect();
    }
    SymbolResolution { bindings, duplicates }
}

/// What binding one import reads.
struct Binder<'r, 'a> {
    table: &'r SymbolTable<'a>,
    libs: &'r [&'r ModuleSurvey<'a>],
    names: &'r [&'r str],
}

/// Whether an import is an i32 global.
fn is_i32_global(ty: &TypeRef) -> bool {
    matches!(ty, TypeRef::Global(g) if g.content_type == wasmparser::ValType::I32)
}

impl Binder<'_, '_> {
    /// The binding of one import; `weak`: its `dylink.0` flags say it may
    /// stay undefined.
    fn bind(&self, imp: &Import<'_>, weak: bool) -> Binding {
        let (ns, provider) = match imp.module {
            "env" => (Namespace::Env, self.env(imp, weak)),
            "GOT.mem" => (Namespace::GotMem, self.got_mem(imp, weak)),
            "GOT.func" => (Namespace::GotFunc, self.got_func(imp, weak)),
            m if m.starts_with("GOT.") => (
                Namespace::Other,
                Provider::Invalid(SymbolFault::UnknownGotNamespace),
            ),
            _ => (Namespace::Other, Provider::Host),
        };
        Binding { ns, provider }
    }

    /// An import of `env`.
    fn env(&self, imp: &Import<'_>, weak: bool) -> Provider {
        let linker = |item| match is_i32_global(&imp.ty) {
            true => Provider::Linker(item),
            false => Provider::Invalid(SymbolFault::ExpectedI32Global),
        };
        let defined = |def: Option<Def>, kind| match def {
            Some(def) => Provider::Library(def),
            None if weak && kind == SymbolKind::Function => Provider::WeakUndefined,
            None => Provider::Undefined(kind),
        };
        match &imp.ty {
            TypeRef::Memory(_) if imp.name == "memory" => Provider::Linker(LinkerItem::Memory),
            TypeRef::Table(_) if imp.name == "__indirect_function_table" => {
                Provider::Linker(LinkerItem::Table)
            }
            TypeRef::Global(_) if imp.name == "__memory_base" => linker(LinkerItem::MemoryBase),
            TypeRef::Global(_) if imp.name == "__table_base" => linker(LinkerItem::TableBase),
            TypeRef::Global(_) if LayoutSymbol::of(imp.name).is_some() => linker(LinkerItem::Layout(
                LayoutSymbol::of(imp.name).expect("matched above"),
            )),
            TypeRef::Func(_) | TypeRef::FuncExact(_) => {
                defined(self.table.funcs.get(imp.name).copied(), SymbolKind::Function)
            }
            TypeRef::Tag(_) => defined(self.table.tags.get(imp.name).copied(), SymbolKind::Tag),
            TypeRef::Global(_) => defined(self.table.globals.get(imp.name).copied(), SymbolKind::Global),
            _ => Provider::Invalid(SymbolFault::NotASymbol),
        }
    }

    /// An import of `GOT.mem`: a data symbol's address.
    fn got_mem(&self, imp: &Import<'_>, weak: bool) -> Provider {
        if !is_i32_global(&imp.ty) {
            return Provider::Invalid(SymbolFault::ExpectedI32Global);
        }
        if let Some(s) = LayoutSymbol::of(imp.name) {
            return Provider::Linker(LinkerItem::Layout(s));
        }
        match self.table.globals.get(imp.name) {
            Some(&def) => match data_offset(self.libs[def.lib.as_usize()], def) {
                Some(offset) => Provider::Data { def, offset },
                None => Provider::Invalid(SymbolFault::NotConstantOffset {
                    provider: self.names[def.lib.as_usize()].to_string(),
                }),
            },
            None if weak => Provider::WeakUndefined,
            None => Provider::Undefined(SymbolKind::Data),
        }
    }

    /// An import of `GOT.func`: a function's table slot.
    fn got_func(&self, imp: &Import<'_>, weak: bool) -> Provider {
        if !is_i32_global(&imp.ty) {
            return Provider::Invalid(SymbolFault::ExpectedI32Global);
        }
        match self.table.funcs.get(imp.name) {
            Some(&def) => Provider::Library(def),
            None if weak => Provider::WeakUndefined,
            None => Provider::Undefined(SymbolKind::Function),
        }
    }
}

/// The offset a data symbol's exported global holds.
fn data_offset(m: &ModuleSurvey<'_>, def: Def) -> Option<u32> {
    let ex = m.exports[def.export as usize];
    let imported = m.imported.globals;
    let g = m.globals.get(ex.index.checked_sub(imported)? as usize)?;
    let mut ops = g.init_expr.get_operators_reader();
    match (ops.read().ok()?, ops.read().ok()?) {
        (Operator::I32Const { value }, Operator::End) => Some(value as u32),
        _ => None,
    }
}

impl SymbolResolution<'_> {
    /// Every symbol nothing defines, each once with every library that
    /// needs it, in load order; undefined functions only when `functions`
    /// (`--stub-missing` makes them stubs).
    pub fn undefined(
        &self,
        load_order: &[InputId],
        libs: &[&ModuleSurvey<'_>],
        files: &[&str],
        functions: bool,
    ) -> Vec<Undefined> {
        let mut out: Vec<Undefined> = Vec::new();
        let mut at: HashMap<&str, usize> = HashMap::new();
        for &k in load_order {
            let file = files[k.as_usize()];
            let imports = &libs[k.as_usize()].imports;
            for (imp, b) in imports.iter().zip(&self.bindings[k.as_usize()]) {
                let Provider::Undefined(kind) = b.provider else {
                    continue;
                };
                if kind == SymbolKind::Function && !functions {
                    continue;
                }
                let i = *at.entry(imp.name).or_insert_with(|| {
                    out.push(Undefined {
                        symbol: imp.name.to_string(),
                        kind,
                        needed_by: Vec::new(),
                    });
                    out.len() - 1
                });
                // A library needs a symbol at most a few times: the last
                // entry is the only one to compare with.
                if out[i].needed_by.last().map(String::as_str) != Some(file) {
                    out[i].needed_by.push(file.to_string());
                }
            }
        }
        out
    }

    /// The names defined twice, named by their libraries' files.
    pub fn duplicates(&self, files: &[&str]) -> Vec<Duplicate> {
        self.duplicates
            .iter()
            .map(|d| Duplicate {
                symbol: d.name.to_string(),
                used: files[d.used.as_usize()].to_string(),
                other: files[d.other.as_usize()].to_string(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::needed::libraries;
    use weld_format::survey::survey_all;
    use weld_format::Inputs;

    /// Surveys WAT libraries and resolves them in the order given.
    fn with_libs<R>(
        wats: &[(&str, &str)],
        f: impl FnOnce(&SymbolResolution<'_>, &[&ModuleSurvey<'_>]) -> R,
    ) -> R {
        let inputs =
            Inputs::from_memory(wats.iter().map(|(n, w)| (n.to_string(), w.as_bytes().to_vec()))).unwrap();
        let surveys = survey_all(&inputs).unwrap();
        let names: Vec<&str> = wats.iter().map(|(n, _)| *n).collect();
        let (libs, dylink) = libraries(&names, &surveys.iter().collect::<Vec<_>>()).unwrap();
        let order: Vec<InputId> = (0..wats.len() as u32).map(InputId).collect();
        let r = resolve_symbols(&order, &libs, &dylink, &names);
        f(&r, &libs)
    }

    const MAIN: &str = r#"(module (@dylink.0 (mem-info (memory 0 0)))
        (import "env" "memory" (memory 0))
        (import "env" "__memory_base" (global i32))
        (import "env" "f" (func))
        (import "GOT.mem" "x" (global (mut i32)))
        (import "GOT.func" "f" (global (mut i32)))
        (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32))))"#;
    const A: &str = r#"(module (@dylink.0 (mem-info (memory 4 0)))
        (global (export "x") i32 (i32.const 0))
        (func (export "f")))"#;
    const B: &str = r#"(module (@dylink.0 (mem-info (memory 4 0)))
        (global (export "x") i32 (i32.const 0))
        (func (export "f")))"#;

    #[test]
    fn the_first_definition_in_load_order_wins_and_a_duplicate_is_reported() {
        with_libs(&[("main", MAIN), ("a", A), ("b", B)], |r, _| {
            let lib_a = |export| Def {
                lib: InputId(1),
                export,
            };
            let providers: Vec<&Provider> = r.bindings[0].iter().map(|b| &b.provider).collect();
            assert_eq!(
                providers,
                [
                    &Provider::Linker(LinkerItem::Memory),
                    &Provider::Linker(LinkerItem::MemoryBase),
                    &Provider::Library(lib_a(1)),
                    &Provider::Data {
                        def: lib_a(0),
                        offset: 0
                    },
                    &Provider::Library(lib_a(1)),
                    &Provider::Host,
                ]
            );
            assert_eq!(r.bindings[0][3].ns, Namespace::GotMem);
            let dups: Vec<String> = r
                .duplicates(&["main", "a", "b"])
                .iter()
                .map(|d| d.to_string())
                .collect();
            assert_eq!(
                dups,
                [
                    "symbol `x` is defined by a and by b; the first in load order (a) is used",
                    "symbol `f` is defined by a and by b; the first in load order (a) is used",
                ]
            );
        });
    }

    #[test]
    fn a_weak_definition_gives_way_silently() {
        let weak_b = r#"(module (@dylink.0 (mem-info (memory 0 0)) (export-info "f" 1))
            (func (export "f")))"#;
        with_libs(&[("main", MAIN), ("a", A), ("b", weak_b)], |r, _| {
            assert!(r.duplicates.is_empty(), "{:?}", r.duplicates);
        });
    }

    #[test]
    fn undefined_symbols_are_listed_once_with_every_library_that_needs_them() {
        let other = r#"(module (@dylink.0 (mem-info (memory 0 0)))
            (import "env" "f" (func)) (import "GOT.mem" "x" (global (mut i32))))"#;
        with_libs(&[("main", MAIN), ("other", other)], |r, libs| {
            let order = [InputId(0), InputId(1)];
            let files = ["main.so", "other.so"];
            let all = r.undefined(&order, libs, &files, true);
            let text: Vec<String> = all.iter().map(ToString::to_string).collect();
            assert_eq!(
                text,
                [
                    "undefined function `f`, needed by main.so, other.so (--stub-missing makes undefined functions trapping stubs)",
                    "undefined data symbol `x`, needed by main.so, other.so",
                ]
            );
            // `--stub-missing`: functions become stubs, data symbols stay
            // undefined.
            let data = r.undefined(&order, libs, &files, false);
            assert_eq!(data.len(), 1);
            assert_eq!(data[0].kind, SymbolKind::Data);
        });
    }

    #[test]
    fn weak_references_nothing_defines_are_null_and_bad_imports_are_faults() {
        let lib = r#"(module (@dylink.0 (mem-info (memory 0 0))
                (import-info "env" "hook" 1) (import-info "env" "data" 1))
            (import "env" "hook" (func))
            (import "GOT.mem" "data" (global (mut i32)))
            (import "GOT.func" "hook" (global (mut i32)))
            (import "env" "__table_base" (global i64))
            (import "env" "some_table" (table 0 funcref))
            (import "GOT.tls" "t" (global (mut i32)))
            (import "GOT.mem" "__heap_base" (global (mut i32))))"#;
        with_libs(&[("lib", lib)], |r, _| {
            let providers: Vec<&Provider> = r.bindings[0].iter().map(|b| &b.provider).collect();
            assert_eq!(
                providers,
                [
                    &Provider::WeakUndefined,
                    &Provider::WeakUndefined,
                    &Provider::WeakUndefined,
                    &Provider::Invalid(SymbolFault::ExpectedI32Global),
                    &Provider::Invalid(SymbolFault::NotASymbol),
                    &Provider::Invalid(SymbolFault::UnknownGotNamespace),
                    &Provider::Linker(LinkerItem::Layout(LayoutSymbol::HeapBase)),
                ]
            );
        });
    }
}

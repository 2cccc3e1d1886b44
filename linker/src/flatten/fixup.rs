//! Part of `flatten`: the fixup module of a group with late functions
//! ([`fixup_module`]). Instantiated after the linked module, it fills the
//! late table with the lowered functions (which needed the linked module's
//! memory or `realloc` to exist) and then runs the linked module's start,
//! so every start runs, as in the original, once every import is callable.
//!
//! It imports, all under module `""`: the table ([`LATE_TABLE`]), late
//! function `j` as `"j"`, and the start ([`START`]) when there is one.

use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasm_encoder::{
    ConstExpr, ElementSection, Elements, EntityType, ImportSection, Module, RefType, StartSection, TableType,
    TypeSection,
};

use super::bind::Late;
use super::link::{LATE_TABLE, START};

/// The fixup module for `late` (and the linked module's start, if any).
pub(crate) fn fixup_module(late: &[Late], start: bool) -> Vec<u8> {
    let mut types = TypeSection::new();
    let mut imports = ImportSection::new();
    let conv = |v: &wasmparser::ValType| RoundtripReencoder.val_type(*v).expect("numeric types convert");
    let n = late.len() as u64;
    imports.import(
        "",
        LATE_TABLE,
        EntityType::Table(TableType {
            element_type: RefType::FUNCREF,
            minimum: n,
            maximum: Some(n),
            table64: false,
            shared: false,
        }),
    );
    for (j, l) in late.iter().enumerate() {
        types
            .ty()
            .function(l.params.iter().map(conv), l.results.iter().map(conv));
        imports.import("", &j.to_string(), EntityType::Function(j as u32));
    }
    if start {
        types.ty().function([], []);
        imports.import("", START, EntityType::Function(late.len() as u32));
    }
    let mut elems = ElementSection::new();
    let funcs: Vec<u32> = (0..late.len() as u32).collect();
    elems.active(
        Some(0),
        &ConstExpr::i32_const(0),
        Elements::Functions(std::borrow::Cow::Borrowed(&funcs)),
    );
    let mut m = Module::new();
    m.section(&types).section(&imports);
    if start {
        m.section(&StartSection {
            function_index: late.len() as u32,
        });
    }
    m.section(&elems);
    m.finish()
}

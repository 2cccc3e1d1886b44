//! Short human descriptions of wasm items, shared by reports and errors.

use wasmparser::{
    ComponentExternalKind, ComponentTypeRef, ExternalKind, GlobalType, MemoryType, SubType, TableType,
    TypeRef,
};
use weld_format::Survey;

/// `func`, `table`, `memory`, `global`, `tag`.
pub fn core_kind(kind: ExternalKind) -> &'static str {
    match kind {
        ExternalKind::Func | ExternalKind::FuncExact => "func",
        ExternalKind::Table => "table",
        ExternalKind::Memory => "memory",
        ExternalKind::Global => "global",
        ExternalKind::Tag => "tag",
    }
}

/// The kind of an import's type.
pub fn type_ref_kind(ty: &TypeRef) -> &'static str {
    match ty {
        TypeRef::Func(_) | TypeRef::FuncExact(_) => "func",
        TypeRef::Table(_) => "table",
        TypeRef::Memory(_) => "memory",
        TypeRef::Global(_) => "global",
        TypeRef::Tag(_) => "tag",
    }
}

/// A type reference in WAT-like form, with function signatures spelled out
/// when the type is known.
pub fn type_ref(ty: &TypeRef, types: &[SubType]) -> String {
    match ty {
        TypeRef::Func(t) | TypeRef::FuncExact(t) => func_type(*t, types),
        TypeRef::Table(t) => table(t),
        TypeRef::Memory(m) => memory(m),
        TypeRef::Global(g) => global(g),
        TypeRef::Tag(t) => format!("tag {}", func_type(t.func_type_idx, types)),
    }
}

/// `(type N) <signature>`.
pub fn func_type(t: u32, types: &[SubType]) -> String {
    match types.get(t as usize) {
        Some(st) => format!("(type {t}) {}", st.composite_type),
        None => format!("(type {t}) <out of range>"),
    }
}

/// `table 1..10 funcref`.
pub fn table(t: &TableType) -> String {
    format!(
        "table{} {}{} {}",
        if t.table64 { " i64" } else { "" },
        t.initial,
        t.maximum.map(|m| format!("..{m}")).unwrap_or_default(),
        t.element_type
    )
}

/// `memory 1..2 shared`.
pub fn memory(m: &MemoryType) -> String {
    format!(
        "memory{} {}{}{}",
        if m.memory64 { " i64" } else { "" },
        m.initial,
        m.maximum.map(|x| format!("..{x}")).unwrap_or_default(),
        if m.shared { " shared" } else { "" }
    )
}

/// `global mut i32`.
pub fn global(g: &GlobalType) -> String {
    format!("global {}{}", if g.mutable { "mut " } else { "" }, g.content_type)
}

/// `func`, `instance`, `component`, ... for component externs.
pub fn component_kind(kind: ComponentExternalKind) -> &'static str {
    match kind {
        ComponentExternalKind::Module => "module",
        ComponentExternalKind::Func => "func",
        ComponentExternalKind::Value => "value",
        ComponentExternalKind::Type => "type",
        ComponentExternalKind::Instance => "instance",
        ComponentExternalKind::Component => "component",
    }
}

/// The kind of a component import's type.
pub fn component_ref_kind(ty: &ComponentTypeRef) -> &'static str {
    match ty {
        ComponentTypeRef::Module(_) => "module",
        ComponentTypeRef::Func(_) => "func",
        ComponentTypeRef::Value(_) => "value",
        ComponentTypeRef::Type(_) => "type",
        ComponentTypeRef::Instance(_) => "instance",
        ComponentTypeRef::Component(_) => "component",
    }
}

/// `module.field` of a core import, the name of a component import.
pub(crate) fn import_label(survey: &Survey<'_>, k: usize) -> String {
    match survey {
        Survey::Module(m) => format!("{}.{}", m.imports[k].module, m.imports[k].name),
        Survey::Component(c) => c.imports[k].name.name.to_string(),
    }
}

/// The name of an export.
pub(crate) fn export_label(survey: &Survey<'_>, k: usize) -> String {
    match survey {
        Survey::Module(m) => m.exports[k].name.to_string(),
        Survey::Component(c) => c.exports[k].name.name.to_string(),
    }
}

//! Short human descriptions of wasm items, shared by reports and errors.
//!
//! Types print in WAT syntax through [`Wat`], never as Rust `Debug`: value
//! and reference types exactly as WAT spells them (`i32`, `funcref`,
//! `(ref null 3)`, `(ref func)`), and the item types in the short WAT-like
//! forms weld's reports use (`global mut i32`, `table 1..10 funcref`,
//! `memory i64 1..2 shared`).

use core::fmt;

use crate::{Space, Survey};
use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasm_encoder::{AbstractHeapType, HeapType};
use wasmparser::{ExternalKind, GlobalType, MemoryType, SubType, TableType, TypeRef};

/// `func`, `table`, `memory`, `global`, `tag`.
pub fn core_kind(kind: ExternalKind) -> &'static str {
    Space::of_kind(kind).name()
}

/// The kind of an import's type.
pub fn type_ref_kind(ty: &TypeRef) -> &'static str {
    Space::of_type_ref(ty).name()
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
    Wat(*t).to_string()
}

/// `memory 1..2 shared`.
pub fn memory(m: &MemoryType) -> String {
    Wat(*m).to_string()
}

/// `global mut i32`.
pub fn global(g: &GlobalType) -> String {
    Wat(*g).to_string()
}

/// A type in WAT syntax, for reports and error messages.
///
/// Wraps a value, reference, global, table or memory type of wasm-encoder
/// (the fused module's, in output indices) or of wasmparser (an input's, in
/// its own indices); both print the same way:
///
/// | type | prints |
/// |---|---|
/// | value | `i32`, `v128`, `funcref`, `(ref null 3)` |
/// | reference | `externref`, `(ref func)`, `(ref 1)`, `(ref null (exact 2))`, `(shared anyref)` |
/// | global | `global i64`, `global mut (ref null 0)` |
/// | table | `table 1..10 funcref`, `table i64 0 externref` |
/// | memory | `memory 1`, `memory i64 1..2 shared`, `memory 1 (pagesize 1)` |
#[derive(Debug, Clone, Copy)]
pub struct Wat<T>(pub T);

/// Shown in place of a type index that is relative to a recursion group
/// (only a validator's canonical types have those; surveys never do).
const UNPRINTABLE: &str = "<type relative to its recursion group>";

/// The keyword of an abstract heap type: `func`, `extern`, `any`, ... The
/// bottom types have a nullable spelling of their own (`nullfuncref` is
/// `(ref null nofunc)`).
fn abstract_name(ty: AbstractHeapType, nullable: bool) -> &'static str {
    use AbstractHeapType::*;
    match (ty, nullable) {
        (Func, _) => "func",
        (Extern, _) => "extern",
        (Any, _) => "any",
        (None, true) => "null",
        (None, false) => "none",
        (NoExtern, true) => "nullextern",
        (NoExtern, false) => "noextern",
        (NoFunc, true) => "nullfunc",
        (NoFunc, false) => "nofunc",
        (Eq, _) => "eq",
        (Struct, _) => "struct",
        (Array, _) => "array",
        (I31, _) => "i31",
        (Exn, _) => "exn",
        (NoExn, true) => "nullexn",
        (NoExn, false) => "noexn",
        (Cont, _) => "cont",
        (NoCont, true) => "nullcont",
        (NoCont, false) => "nocont",
    }
}

impl fmt::Display for Wat<wasm_encoder::RefType> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let null = if self.0.nullable { "null " } else { "" };
        match self.0.heap_type {
            // Nullable abstract types have a short form: `funcref`.
            HeapType::Abstract { shared, ty } => {
                let name = abstract_name(ty, self.0.nullable);
                match (self.0.nullable, shared) {
                    (true, false) => write!(f, "{name}ref"),
                    (true, true) => write!(f, "(shared {name}ref)"),
                    (false, false) => write!(f, "(ref {name})"),
                    (false, true) => write!(f, "(ref (shared {name}))"),
                }
            }
            HeapType::Concrete(t) => write!(f, "(ref {null}{t})"),
            HeapType::Exact(t) => write!(f, "(ref {null}(exact {t}))"),
        }
    }
}

impl fmt::Display for Wat<wasm_encoder::ValType> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use wasm_encoder::ValType::*;
        match self.0 {
            I32 => f.write_str("i32"),
            I64 => f.write_str("i64"),
            F32 => f.write_str("f32"),
            F64 => f.write_str("f64"),
            V128 => f.write_str("v128"),
            Ref(r) => Wat(r).fmt(f),
        }
    }
}

impl fmt::Display for Wat<wasm_encoder::GlobalType> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let g = self.0;
        let shared = if g.shared { "shared " } else { "" };
        let mutable = if g.mutable { "mut " } else { "" };
        write!(f, "global {shared}{mutable}{}", Wat(g.val_type))
    }
}

impl fmt::Display for Wat<&wasm_encoder::FieldType> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = match self.0.element_type {
            wasm_encoder::StorageType::I8 => "i8".to_string(),
            wasm_encoder::StorageType::I16 => "i16".to_string(),
            wasm_encoder::StorageType::Val(v) => Wat(v).to_string(),
        };
        if self.0.mutable {
            write!(f, "(mut {t})")
        } else {
            f.write_str(&t)
        }
    }
}

/// A defined type's body: `(func (param i32) (result i32))`,
/// `(struct (field i32) (field (mut i64)))`, `(array (mut i8))`.
impl fmt::Display for Wat<&wasm_encoder::CompositeType> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use wasm_encoder::CompositeInnerType as C;
        if self.0.shared {
            f.write_str("(shared ")?;
        }
        match &self.0.inner {
            C::Func(t) => {
                f.write_str("(func")?;
                if !t.params().is_empty() {
                    f.write_str(" (param")?;
                    for p in t.params() {
                        write!(f, " {}", Wat(*p))?;
                    }
                    f.write_str(")")?;
                }
                if !t.results().is_empty() {
                    f.write_str(" (result")?;
                    for r in t.results() {
                        write!(f, " {}", Wat(*r))?;
                    }
                    f.write_str(")")?;
                }
                f.write_str(")")?;
            }
            C::Struct(s) => {
                f.write_str("(struct")?;
                for field in s.fields.iter() {
                    write!(f, " (field {})", Wat(field))?;
                }
                f.write_str(")")?;
            }
            C::Array(a) => write!(f, "(array {})", Wat(&a.0))?,
            C::Cont(c) => write!(f, "(cont {})", c.0)?,
        }
        if self.0.shared {
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// ` 1..10`, ` 1`: a minimum and an optional maximum.
fn limits(f: &mut fmt::Formatter<'_>, min: u64, max: Option<u64>) -> fmt::Result {
    write!(f, " {min}")?;
    match max {
        Some(max) => write!(f, "..{max}"),
        None => Ok(()),
    }
}

impl fmt::Display for Wat<wasm_encoder::TableType> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.0;
        f.write_str(if t.table64 { "table i64" } else { "table" })?;
        limits(f, t.minimum, t.maximum)?;
        if t.shared {
            f.write_str(" shared")?;
        }
        write!(f, " {}", Wat(t.element_type))
    }
}

impl fmt::Display for Wat<wasm_encoder::MemoryType> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        f.write_str(if m.memory64 { "memory i64" } else { "memory" })?;
        limits(f, m.minimum, m.maximum)?;
        if m.shared {
            f.write_str(" shared")?;
        }
        match m.page_size_log2 {
            Some(log2) => write!(f, " (pagesize {})", 1u64 << log2),
            None => Ok(()),
        }
    }
}

/// wasmparser's types print through wasm-encoder's: the conversion only
/// fails for a recursion-group-relative index.
macro_rules! wat_via_encoder {
    ($($ty:ty => $convert:ident;)*) => {$(
        impl fmt::Display for Wat<$ty> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match RoundtripReencoder.$convert(self.0) {
                    Ok(t) => Wat(t).fmt(f),
                    Err(_) => f.write_str(UNPRINTABLE),
                }
            }
        }
    )*};
}

wat_via_encoder! {
    wasmparser::RefType => ref_type;
    wasmparser::ValType => val_type;
    wasmparser::GlobalType => global_type;
    wasmparser::TableType => table_type;
    wasmparser::MemoryType => memory_type;
}

/// The kind of a component import or export: the one mapping from
/// wasmparser's import types and export kinds, and their names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComponentKind {
    /// A core module.
    Module,
    /// A function.
    Func,
    /// A value.
    Value,
    /// A type.
    Type,
    /// An instance.
    Instance,
    /// A component.
    Component,
}

impl ComponentKind {
    /// The kind of an import.
    pub fn of_import(ty: &wasmparser::ComponentTypeRef) -> ComponentKind {
        use wasmparser::ComponentTypeRef as R;
        match ty {
            R::Module(_) => ComponentKind::Module,
            R::Func(_) => ComponentKind::Func,
            R::Value(_) => ComponentKind::Value,
            R::Type(_) => ComponentKind::Type,
            R::Instance(_) => ComponentKind::Instance,
            R::Component(_) => ComponentKind::Component,
        }
    }

    /// The kind of an export.
    pub fn of_export(kind: wasmparser::ComponentExternalKind) -> ComponentKind {
        use wasmparser::ComponentExternalKind as K;
        match kind {
            K::Module => ComponentKind::Module,
            K::Func => ComponentKind::Func,
            K::Value => ComponentKind::Value,
            K::Type => ComponentKind::Type,
            K::Instance => ComponentKind::Instance,
            K::Component => ComponentKind::Component,
        }
    }

    /// Its name, as WIT and the text format say it.
    pub fn name(self) -> &'static str {
        match self {
            ComponentKind::Module => "module",
            ComponentKind::Func => "func",
            ComponentKind::Value => "value",
            ComponentKind::Type => "type",
            ComponentKind::Instance => "instance",
            ComponentKind::Component => "component",
        }
    }

    /// The export kind of the same sort.
    pub fn export_kind(self) -> wasm_encoder::ComponentExportKind {
        use wasm_encoder::ComponentExportKind as K;
        match self {
            ComponentKind::Module => K::Module,
            ComponentKind::Func => K::Func,
            ComponentKind::Value => K::Value,
            ComponentKind::Type => K::Type,
            ComponentKind::Instance => K::Instance,
            ComponentKind::Component => K::Component,
        }
    }

    /// Whether imports of this kind are matched by name (instances and
    /// functions; modules, components, types and values are always imports
    /// of the result unless a wire names them).
    pub fn by_name(self) -> bool {
        matches!(self, ComponentKind::Instance | ComponentKind::Func)
    }
}

/// `module.field` of a core import, the name of a component import.
pub fn import_label(survey: &Survey<'_>, k: usize) -> String {
    match survey {
        Survey::Module(m) => format!("{}.{}", m.imports[k].module, m.imports[k].name),
        Survey::Component(c) => c.imports[k].name.name.to_string(),
    }
}

/// The name of an export.
pub fn export_label(survey: &Survey<'_>, k: usize) -> String {
    match survey {
        Survey::Module(m) => m.exports[k].name.to_string(),
        Survey::Component(c) => c.exports[k].name.name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use wasm_encoder::{AbstractHeapType, GlobalType, HeapType, MemoryType, RefType, TableType, ValType};

    use super::Wat;

    fn concrete(nullable: bool, t: u32) -> RefType {
        RefType {
            nullable,
            heap_type: HeapType::Concrete(t),
        }
    }

    fn abstract_ref(nullable: bool, shared: bool, ty: AbstractHeapType) -> RefType {
        RefType {
            nullable,
            heap_type: HeapType::Abstract { shared, ty },
        }
    }

    #[test]
    fn concrete_ref_types_print_their_index() {
        assert_eq!(Wat(concrete(true, 1)).to_string(), "(ref null 1)");
        assert_eq!(Wat(concrete(false, 1)).to_string(), "(ref 1)");
        assert_eq!(Wat(ValType::Ref(concrete(false, 7))).to_string(), "(ref 7)");
        let exact = RefType {
            nullable: true,
            heap_type: HeapType::Exact(2),
        };
        assert_eq!(Wat(exact).to_string(), "(ref null (exact 2))");
    }

    #[test]
    fn abstract_ref_types_use_the_short_form_when_nullable() {
        use AbstractHeapType::*;
        assert_eq!(Wat(RefType::FUNCREF).to_string(), "funcref");
        assert_eq!(Wat(RefType::EXTERNREF).to_string(), "externref");
        assert_eq!(Wat(abstract_ref(false, false, Func)).to_string(), "(ref func)");
        assert_eq!(
            Wat(abstract_ref(false, false, Extern)).to_string(),
            "(ref extern)"
        );
        assert_eq!(Wat(abstract_ref(true, false, NoFunc)).to_string(), "nullfuncref");
        assert_eq!(
            Wat(abstract_ref(false, false, NoFunc)).to_string(),
            "(ref nofunc)"
        );
        assert_eq!(Wat(abstract_ref(true, true, Any)).to_string(), "(shared anyref)");
        assert_eq!(
            Wat(abstract_ref(false, true, Eq)).to_string(),
            "(ref (shared eq))"
        );
    }

    #[test]
    fn global_table_and_memory_types_keep_the_report_forms() {
        let g = GlobalType {
            val_type: ValType::I32,
            mutable: true,
            shared: false,
        };
        assert_eq!(Wat(g).to_string(), "global mut i32");
        let g = GlobalType {
            val_type: ValType::Ref(concrete(false, 1)),
            mutable: false,
            shared: false,
        };
        assert_eq!(Wat(g).to_string(), "global (ref 1)");
        let t = TableType {
            element_type: RefType::FUNCREF,
            table64: false,
            minimum: 1,
            maximum: Some(10),
            shared: false,
        };
        assert_eq!(Wat(t).to_string(), "table 1..10 funcref");
        let m = MemoryType {
            minimum: 1,
            maximum: Some(2),
            memory64: true,
            shared: true,
            page_size_log2: None,
        };
        assert_eq!(Wat(m).to_string(), "memory i64 1..2 shared");
    }

    #[test]
    fn wasmparser_types_print_like_wasm_encoder_ones() {
        let bytes = wat::parse_str(
            r#"(module (type $t (struct))
                 (import "m" "g" (global (mut (ref null $t))))
                 (import "m" "t" (table 2 (ref null func)))
                 (import "m" "e" (global externref)))"#,
        )
        .unwrap();
        let s = crate::survey("t", &bytes).unwrap();
        let m = s.as_module().unwrap();
        let texts: Vec<String> = m
            .imports
            .iter()
            .map(|i| super::type_ref(&i.ty, &m.types))
            .collect();
        assert_eq!(
            texts,
            ["global mut (ref null 0)", "table 2 funcref", "global externref"]
        );
        for t in &texts {
            assert!(!t.contains("RefType {") && !t.contains("Concrete(") && !t.contains("Some("));
        }
    }
}

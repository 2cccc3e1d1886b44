//! A transformed module against its original: it must be valid, import
//! nothing the original did not (the component supplies only those), and
//! export everything the component's instances use, each with the type it
//! had. Types are compared and printed in WAT syntax.

use std::collections::{BTreeMap, BTreeSet};

use wasmparser::types::{EntityType, Types};
use weld_format::wat::Wat;

/// A module's imports and exports, each with its type in WAT syntax.
pub(crate) struct Interface {
    imports: BTreeMap<(String, String), String>,
    exports: BTreeMap<String, String>,
}

impl Interface {
    /// The interface of a validated module.
    pub fn of(types: &Types) -> Interface {
        let t = types.as_ref();
        let show = |e: EntityType| match e {
            EntityType::Func(id) | EntityType::FuncExact(id) => types[id].composite_type.to_string(),
            EntityType::Tag(id) => format!("tag {}", types[id].composite_type),
            EntityType::Table(x) => Wat(x).to_string(),
            EntityType::Memory(x) => Wat(x).to_string(),
            EntityType::Global(x) => Wat(x).to_string(),
        };
        Interface {
            imports: t
                .core_imports()
                .into_iter()
                .flatten()
                .map(|(m, n, e)| ((m.to_string(), n.to_string()), show(e)))
                .collect(),
            exports: t
                .core_exports()
                .into_iter()
                .flatten()
                .map(|(n, e)| (n.to_string(), show(e)))
                .collect(),
        }
    }
}

/// Why a transformed module cannot take the original's place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mismatch {
    /// It imports something the original did not.
    NewImport {
        module: String,
        name: String,
        ty: String,
    },
    /// An import's type changed.
    ImportType {
        module: String,
        name: String,
        was: String,
        now: String,
    },
    /// A needed export is gone.
    Dropped { export: String, ty: String },
    /// A needed export's type changed.
    ExportType {
        export: String,
        was: String,
        now: String,
    },
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mismatch::NewImport { module, name, ty } => {
                write!(
                    f,
                    "it imports \"{module}\" \"{name}\" {ty}, which the original did not"
                )
            }
            Mismatch::ImportType {
                module,
                name,
                was,
                now,
            } => {
                write!(f, "import \"{module}\" \"{name}\" was {was}, is now {now}")
            }
            Mismatch::Dropped { export, ty } => {
                write!(
                    f,
                    "export \"{export}\" {ty} is used by the component and was removed"
                )
            }
            Mismatch::ExportType { export, was, now } => {
                write!(
                    f,
                    "export \"{export}\" is used by the component: was {was}, is now {now}"
                )
            }
        }
    }
}

/// The first reason `new` cannot replace `old`, when `used` (or, with
/// `all`, every export of `old`) must stay.
pub(crate) fn fits(old: &Interface, new: &Interface, used: &BTreeSet<String>, all: bool) -> Option<Mismatch> {
    for ((m, n), ty) in &new.imports {
        match old.imports.get(&(m.clone(), n.clone())) {
            None => {
                return Some(Mismatch::NewImport {
                    module: m.clone(),
                    name: n.clone(),
                    ty: ty.clone(),
                })
            }
            Some(was) if was != ty => {
                return Some(Mismatch::ImportType {
                    module: m.clone(),
                    name: n.clone(),
                    was: was.clone(),
                    now: ty.clone(),
                })
            }
            Some(_) => {}
        }
    }
    for (name, was) in &old.exports {
        if !all && !used.contains(name) {
            continue;
        }
        match new.exports.get(name) {
            None => {
                return Some(Mismatch::Dropped {
                    export: name.clone(),
                    ty: was.clone(),
                })
            }
            Some(now) if now != was => {
                return Some(Mismatch::ExportType {
                    export: name.clone(),
                    was: was.clone(),
                    now: now.clone(),
                })
            }
            Some(_) => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iface(wat: &str) -> Interface {
        let bytes = wat::parse_str(wat).unwrap();
        Interface::of(&weld_format::validate::validate(&bytes, true).unwrap())
    }

    #[test]
    fn a_module_keeping_what_is_used_fits() {
        let old =
            iface(r#"(module (import "h" "g" (func (param i32))) (func (export "f")) (func (export "x")))"#);
        let new = iface(r#"(module (func (export "f")))"#);
        let used = BTreeSet::from(["f".to_string()]);
        assert_eq!(fits(&old, &new, &used, false), None);
        assert!(matches!(
            fits(&old, &new, &used, true),
            Some(Mismatch::Dropped { export, .. }) if export == "x"
        ));
    }

    #[test]
    fn a_changed_type_or_a_new_import_does_not_fit() {
        let old = iface(r#"(module (func (export "f") (param i32)))"#);
        let used = BTreeSet::from(["f".to_string()]);
        let changed = iface(r#"(module (func (export "f") (param i64)))"#);
        let m = fits(&old, &changed, &used, false).unwrap();
        assert_eq!(
            m.to_string(),
            "export \"f\" is used by the component: was (func (param i32)), is now (func (param i64))"
        );
        let imports = iface(r#"(module (import "env" "m" (memory 1)) (func (export "f") (param i32)))"#);
        assert_eq!(
            fits(&old, &imports, &used, false).unwrap().to_string(),
            "it imports \"env\" \"m\" memory 1, which the original did not"
        );
    }
}

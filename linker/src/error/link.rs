//! Linking shared libraries failed: [`LinkError`].

/// A symbol nothing defines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undefined {
    /// Its name.
    pub symbol: String,
    /// What kind of symbol: function, data symbol, global, tag.
    pub what: &'static str,
    /// The libraries that need it.
    pub needed_by: Vec<String>,
}

/// Linking failed.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// There is nothing to link.
    #[error("no inputs to link")]
    NoInputs,
    /// An input has no `dylink.0` section.
    #[error("{file}: not a shared library (no dylink.0 section): build it with -fPIC -shared, or use `weld fuse` for modules that import each other by name")]
    NotShared {
        /// The input.
        file: String,
    },
    /// An input is a component.
    #[error("{file}: is a component; `weld link` takes shared libraries (core modules with dylink.0)")]
    Component {
        /// The input.
        file: String,
    },
    /// A library is not what its `dylink.0` says, or cannot be linked.
    #[error("{file}: {reason}")]
    Library {
        /// The library.
        file: String,
        /// Why.
        reason: String,
    },
    /// A `needed` name that may not be looked up.
    #[error("{file}: needed library `{name}` cannot be looked up: {reason}")]
    BadNeeded {
        /// The library that needs it.
        file: String,
        /// The name.
        name: String,
        /// Why.
        reason: String,
    },
    /// A needed library is neither an input nor in a library directory.
    #[error("{file}: needs `{name}`, which is not among the inputs{}", if searched.is_empty() { " (no --lib-dir given)".to_string() } else { format!(" nor in --lib-dir {}", searched.join(", ")) })]
    MissingLibrary {
        /// The library that needs it.
        file: String,
        /// The missing library.
        name: String,
        /// The directories searched.
        searched: Vec<String>,
    },
    /// A `--lib-dir` that cannot be used.
    #[error("--lib-dir {dir}: {reason}")]
    LibDir {
        /// The directory.
        dir: String,
        /// Why.
        reason: String,
    },
    /// Symbols nothing defines, every one of them.
    #[error("{}", .0.iter().map(|u| format!("undefined {} `{}`, needed by {}{}", u.what, u.symbol, u.needed_by.join(", "), if u.what == "function" { " (--stub-missing makes undefined functions trapping stubs)" } else { "" })).collect::<Vec<_>>().join("; "))]
    Undefined(Vec<Undefined>),
    /// Symbols defined twice, with `--warn-duplicates=error`.
    #[error("{}", .0.join("; "))]
    Duplicates(Vec<String>),
    /// Memory or table layout does not fit.
    #[error("{reason}")]
    Layout {
        /// Why.
        reason: String,
    },
    /// A library from a `--lib-dir` could not be loaded.
    #[error(transparent)]
    Load(#[from] weld_format::LoadError),
    /// Wrapping into a component failed.
    #[error("wrapping the linked module into a component: {0}")]
    Wrap(String),
}

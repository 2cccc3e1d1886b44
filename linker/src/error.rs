//! The errors of weld-linker: one enum per stage, gathered under [`Error`].
//! A problem *inside an input* is told with the one record [`Problem`].

use weld_format::{LoadError, SurveyError};

pub use crate::problem::{Item, Problem};

pub use crate::resolve::graph::GraphError;
pub use crate::resolve::wiring::WiringFileError;

/// Any failure of a weld-linker operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An input could not be loaded.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// An input is malformed.
    #[error(transparent)]
    Survey(#[from] SurveyError),
    /// The dependency graph is not instantiable.
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// Fusing failed.
    #[error(transparent)]
    Fuse(#[from] FuseError),
    /// Composing failed.
    #[error(transparent)]
    Compose(#[from] ComposeError),
    /// Linking shared libraries failed.
    #[error(transparent)]
    Link(Box<LinkError>),
    /// Splitting failed.
    #[error(transparent)]
    Split(#[from] SplitError),
    /// Bundling failed.
    #[error(transparent)]
    Bundle(#[from] BundleError),
    /// A store operation failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// A wiring file is malformed.
    #[error(transparent)]
    Wiring(#[from] WiringFileError),
    /// An output could not be written.
    #[error(transparent)]
    Write(#[from] crate::write::WriteError),
    /// `weld targets`: the world or the component could not be read.
    #[error(transparent)]
    Targets(#[from] TargetsError),
    /// `--root` resolution failed: every import it refused.
    #[error(transparent)]
    Locate(#[from] crate::resolve::locate::LocateFailure),
}

impl FuseError {
    /// An input is malformed: `input: item: reason`.
    #[cold]
    pub fn malformed(input: &str, item: impl Into<Item>, reason: impl Into<String>) -> FuseError {
        FuseError::Malformed(Box::new(Problem::new(input, item, reason)))
    }

    /// An input is malformed, as wasmparser found: the reason, offset and
    /// source are its.
    #[cold]
    pub fn parse(input: &str, item: impl Into<Item>, e: wasmparser::BinaryReaderError) -> FuseError {
        FuseError::Malformed(Box::new(Problem::parse(input, Some(item.into()), e)))
    }

    /// The body rewriter failed on an item of an input.
    #[cold]
    pub fn rewrite(input: &str, item: impl Into<Item>, e: weld_format::rewrite::RewriteError) -> FuseError {
        match e {
            weld_format::rewrite::RewriteError::Parse(e) => FuseError::parse(input, item, e),
            weld_format::rewrite::RewriteError::Invalid(e) => FuseError::InvalidInput(Box::new(
                Problem::parse(input, Some(item.into()), e).because("invalid"),
            )),
            other => {
                let mut p = Problem::new(input, item, other.to_string());
                p.source = Some(Box::new(other));
                FuseError::Malformed(Box::new(p))
            }
        }
    }
}

fn lines<T: std::fmt::Display>(items: &[T]) -> String {
    items.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n")
}

/// Fusing failed.
#[derive(Debug, thiserror::Error)]
pub enum FuseError {
    /// There is nothing to fuse.
    #[error("no inputs to fuse")]
    NoInputs,
    /// An input is a component.
    #[error("{input}: is a component; `fuse` takes core modules (use `compose` for components)")]
    NotAModule {
        /// The input.
        input: String,
    },
    /// Imports that cannot be linked, every one of them.
    #[error("{}", lines(.0))]
    Imports(Vec<Problem>),
    /// Wiring entries that cannot apply (wires connect components).
    #[error("{}", lines(.0))]
    Links(Vec<Problem>),
    /// Two inputs export the same name.
    #[error("{}", .0.iter().map(|(n, a, b)| format!("{b}: export \"{n}\" conflicts with the export of {a} (use --on-conflict rename|skip)")).collect::<Vec<_>>().join("\n"))]
    ExportConflicts(Vec<(String, String, String)>),
    /// `--exports` names an export nobody has.
    #[error("--exports: no input exports {}", .0.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", "))]
    UnknownExports(Vec<String>),
    /// Custom sections that describe linking weld does not do.
    #[error("{}", .0.iter().map(|(f, s)| format!("{f}: custom section `{s}`: relocatable/dynamic-linking metadata is not supported by fuse")).collect::<Vec<_>>().join("\n"))]
    Unsupported(Vec<(String, String)>),
    /// An input is malformed in a way the survey does not check.
    #[error(transparent)]
    Malformed(Box<Problem>),
    /// An input does not validate.
    #[error(transparent)]
    InvalidInput(Box<Problem>),
    /// The fused module does not validate (a weld bug, or invalid inputs).
    #[error("the fused module does not validate: {message} (at offset {offset:#x})")]
    Invalid {
        /// The validator's message.
        message: String,
        /// Where in the output.
        offset: usize,
    },
    /// The output could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The output path.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// Composing failed.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    /// There is nothing to compose.
    #[error("no components to compose")]
    NoInputs,
    /// The result does not conform to the `--target` world: the items that
    /// do not fit, each as `weld targets` prints it.
    #[error("the composition does not conform to {world}: {}; nothing written", items.join("; "))]
    DoesNotConform {
        /// The world's full name.
        world: String,
        /// The items that do not fit.
        items: Vec<String>,
    },
    /// An input is a core module.
    #[error("{input}: is a core module; `compose` takes components (use `fuse` for core modules)")]
    NotAComponent {
        /// The input.
        input: String,
    },
    /// An input does not validate.
    #[error(transparent)]
    InvalidInput(Box<Problem>),
    /// Imports that cannot be wired, every one of them.
    #[error("{}", lines(.0))]
    Links(Vec<Problem>),
    /// A wire whose two sides do not agree on the type.
    #[error("{importer}: import `{import}` {from}: {message}")]
    TypeMismatch {
        /// The importing child.
        importer: String,
        /// The import.
        import: String,
        /// Where the value came from (`<- greeter export `x` [semver]`, or
        /// `<- the composed component's import`).
        from: String,
        /// The validator's reason, in component-model terms.
        message: String,
    },
    /// The children import one name in incompatible ways.
    #[error("import `{name}`: {reason}")]
    ImportConflict {
        /// The import name.
        name: String,
        /// What disagrees.
        reason: String,
    },
    /// A type that weld cannot restate in the composed component.
    #[error("{input}: import `{import}`: {source}")]
    Encode {
        /// The child.
        input: String,
        /// The import.
        import: String,
        /// Why.
        #[source]
        source: crate::type_encode::TypeEncodeError,
    },
    /// `--export` names something that does not exist.
    #[error("--export {0}: {1}")]
    BadExport(String, String),
    /// The composition would pass one of the validator's limits: nothing is
    /// any single input's fault.
    #[error("the composed component would hold {count} {what}; the validator allows {limit}. {hint}")]
    Limit {
        /// What is counted.
        what: String,
        /// How many the composition needs.
        count: usize,
        /// The validator's limit.
        limit: usize,
        /// How to get under it.
        hint: String,
    },
    /// The composed component does not validate (a weld bug, or invalid inputs).
    #[error("the composed component (the output) does not validate: {message} (at offset {offset:#x})")]
    Invalid {
        /// The validator's message.
        message: String,
        /// Where in the output.
        offset: usize,
    },
}

// Split and bundle errors live with their commands in `store/`.
pub use crate::store::{BundleError, SplitError};

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
    #[error("{}", .0.iter().map(|u| format!("undefined {} `{}`, needed by {}{}", u.what, u.symbol, u.needed_by.join(", "), if u.what == "function" { " (--stub-missing makes undefined functions trapping stubs)" } else { "" })).collect::<Vec<_>>().join("\n"))]
    Undefined(Vec<Undefined>),
    /// Symbols defined twice, with `--warn-duplicates=error`.
    #[error("{}", .0.join("\n"))]
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

impl From<LinkError> for Error {
    fn from(e: LinkError) -> Self {
        Error::Link(Box::new(e))
    }
}

/// `weld targets` could not run: the world or the component is unreadable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetsError {
    /// The world (a WIT package, file or encoded package) is unusable.
    #[error("{world}: {reason}")]
    World {
        /// Where the world came from.
        world: String,
        /// Why.
        reason: String,
    },
    /// The component is unusable.
    #[error("{component}: {reason}")]
    Component {
        /// The component.
        component: String,
        /// Why.
        reason: String,
    },
}

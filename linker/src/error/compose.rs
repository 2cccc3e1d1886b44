//! Composing failed: [`ComposeError`].

use weld_format::{listed, Problem};

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
    #[error("{}", listed(.0))]
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
        source: weld_format::type_encode::TypeEncodeError,
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

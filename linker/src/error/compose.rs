//! Composing failed: [`ComposeError`], with its typed reasons.
//!
//! Every variant's `Display` is one line. A cause found by another library
//! (the validator's [`BinaryReaderError`](wasmparser::BinaryReaderError),
//! the resolver's [`ExportLookupError`]) is kept as the `#[source]` and
//! told, on the same line, in the message.

use weld_format::wat::ComponentKind;
use weld_format::{listed, one_line, Problem};

use crate::resolve::exports::ExportLookupError;
use crate::resolve::Rule;

/// Composing failed.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    /// There is nothing to compose.
    #[error("no components to compose")]
    NoInputs,
    /// The result does not conform to the `--target` world: the items that
    /// do not fit, each as `weld targets` prints it (the report's lines, not
    /// the report: holding it here would make this file import `targets/`,
    /// which imports `crate::error`, which imports this file).
    #[error(
        "the composition does not conform to {world}: {}; nothing written",
        listed(items)
    )]
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
    #[error(
        "{importer}: import `{}` {from}: {}",
        import.as_deref().unwrap_or("(instantiation)"),
        one_line(source.message())
    )]
    TypeMismatch {
        /// The importing child.
        importer: String,
        /// The import; `None` when no single import could be blamed.
        import: Option<String>,
        /// Where the argument came from (boxed: it is the largest part).
        from: Box<ArgumentSource>,
        /// The validator's reason, in component-model terms.
        #[source]
        source: wasmparser::BinaryReaderError,
    },
    /// Two children import one name (or two names on one semver track) as
    /// different kinds.
    #[error(
        "import `{name}`: `{first}` imports it as {}, `{second}` as {}",
        first_kind.name(),
        second_kind.name()
    )]
    ImportConflict {
        /// The import name.
        name: String,
        /// The child that imports it first.
        first: String,
        /// How that child imports it.
        first_kind: ComponentKind,
        /// The child that imports it otherwise.
        second: String,
        /// How that child imports it.
        second_kind: ComponentKind,
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
    /// An `--export` cannot be made.
    #[error("--export {spec}: {reason}")]
    BadExport {
        /// The export as given: `INPUT/NAME`.
        spec: String,
        /// Why.
        #[source]
        reason: BadExportReason,
    },
    /// The composition would pass one of the validator's limits: nothing is
    /// any single input's fault.
    #[error(
        "the composed component would hold {count} {what}; the validator allows {limit}. {}",
        what.hint()
    )]
    Limit {
        /// What is counted.
        what: ComposeLimit,
        /// How many the composition needs.
        count: usize,
        /// The validator's limit.
        limit: usize,
    },
    /// The composed component does not validate (a weld bug, or invalid inputs).
    #[error(
        "the composed component (the output) does not validate: {} (at offset {:#x})",
        one_line(source.message()),
        source.offset()
    )]
    Invalid {
        /// The validator's error; its offset is in the output.
        #[source]
        source: wasmparser::BinaryReaderError,
    },
}

/// Where the argument of a wire that does not type-check came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgumentSource {
    /// Another child's export.
    Wire {
        /// The providing child.
        provider: String,
        /// Its export.
        export: String,
        /// How the resolver matched it.
        rule: Rule,
    },
    /// The whole instance of another child.
    Instance {
        /// The providing child.
        provider: String,
    },
    /// An import of the composed component that other children share.
    Outer {
        /// The import's name in the result.
        name: String,
    },
    /// Not known: no single argument fails the check on its own.
    Unknown,
}

impl std::fmt::Display for ArgumentSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ArgumentSource::Wire {
                provider,
                export,
                rule,
            } => write!(f, "<- `{provider}` export `{export}` [{rule}]"),
            ArgumentSource::Instance { provider } => write!(f, "<- the instance `{provider}`"),
            ArgumentSource::Outer { name } => write!(
                f,
                "<- import `{name}` of the composed component (shared with other children)"
            ),
            ArgumentSource::Unknown => f.write_str("<- its arguments"),
        }
    }
}

/// Why an `--export` cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum BadExportReason {
    /// The input or the export does not exist (the resolver's answer).
    #[error(transparent)]
    Lookup(#[from] ExportLookupError),
    /// The new name is not a valid component export name.
    #[error("`{name}` is not a valid export name: {}", one_line(source.message()))]
    InvalidName {
        /// The name.
        name: String,
        /// The validator's reason.
        #[source]
        source: wasmparser::BinaryReaderError,
    },
    /// Another export of the result already has the name.
    #[error("`{previous}` already exports `{name}` from the result")]
    Taken {
        /// The child whose export has it.
        previous: String,
        /// The name.
        name: String,
    },
}

/// Which of the validator's limits a composition would pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComposeLimit {
    /// Components in one index space.
    Components {
        /// The distinct components instantiated.
        distinct: usize,
    },
    /// Modules and components in all, nested ones included.
    ModulesAndComponents {
        /// The distinct components instantiated.
        distinct: usize,
        /// The modules and components they hold between them.
        inside: usize,
        /// The core modules they share, already defined once.
        hoisted: usize,
    },
}

impl std::fmt::Display for ComposeLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ComposeLimit::Components { .. } => "components",
            ComposeLimit::ModulesAndComponents { .. } => "modules and components, nested ones included",
        })
    }
}

impl ComposeLimit {
    /// How to get under the limit.
    pub fn hint(&self) -> String {
        match *self {
            ComposeLimit::Components { distinct } => format!(
                "Each of the {distinct} distinct components instantiated is one; the validator counts nested ones too, so composing in stages does not get under it: use fewer distinct components."
            ),
            ComposeLimit::ModulesAndComponents {
                distinct,
                inside,
                hoisted,
            } => format!(
                "Its {distinct} distinct components hold {inside} between them ({hoisted} core modules they share already defined once); composing in stages does not get under it: use fewer distinct components, or ones that share more identical core modules."
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    /// A validator error (a function body whose result is missing).
    fn validator_error() -> wasmparser::BinaryReaderError {
        let bytes = wat::parse_str("(module (func (result i32)))").unwrap();
        match wasmparser::Validator::new().validate_all(&bytes) {
            Err(e) => e,
            Ok(_) => unreachable!("a function without its result does not validate"),
        }
    }

    #[test]
    fn a_type_mismatch_is_one_line_and_keeps_the_validators_error() {
        let e = ComposeError::TypeMismatch {
            importer: "app".into(),
            import: Some("demo:a/api@1.0.0".into()),
            from: Box::new(ArgumentSource::Wire {
                provider: "lib".into(),
                export: "demo:a/api@1.0.3".into(),
                rule: Rule::Semver,
            }),
            source: validator_error(),
        };
        let reason = one_line(validator_error().message());
        assert_eq!(
            e.to_string(),
            format!("app: import `demo:a/api@1.0.0` <- `lib` export `demo:a/api@1.0.3` [semver]: {reason}")
        );
        let source = e
            .source()
            .and_then(|s| s.downcast_ref::<wasmparser::BinaryReaderError>());
        assert_eq!(source.map(|s| s.offset()), Some(validator_error().offset()));
    }

    #[test]
    fn an_invalid_output_is_one_line_with_the_offset_and_keeps_the_validators_error() {
        let e = ComposeError::Invalid {
            source: validator_error(),
        };
        let (reason, offset) = (one_line(validator_error().message()), validator_error().offset());
        assert_eq!(
            e.to_string(),
            format!(
                "the composed component (the output) does not validate: {reason} (at offset {offset:#x})"
            )
        );
        assert!(!e.to_string().contains('\n'));
        assert!(e
            .source()
            .is_some_and(|s| s.downcast_ref::<wasmparser::BinaryReaderError>().is_some()));
    }

    #[test]
    fn an_unknown_argument_blames_the_instantiation() {
        let e = ComposeError::TypeMismatch {
            importer: "app".into(),
            import: None,
            from: Box::new(ArgumentSource::Unknown),
            source: validator_error(),
        };
        assert!(
            e.to_string()
                .starts_with("app: import `(instantiation)` <- its arguments: "),
            "{e}"
        );
    }

    #[test]
    fn the_limit_names_the_count_the_limit_and_the_way_under_it() {
        let e = ComposeError::Limit {
            what: ComposeLimit::Components { distinct: 1100 },
            count: 1100,
            limit: 1000,
        };
        assert!(
            e.to_string().starts_with(
                "the composed component would hold 1100 components; the validator allows 1000. Each of the 1100 distinct"
            ),
            "{e}"
        );
    }
}

//! `map` failed: [`MapError`]. Every message is one line naming the
//! component, the module (its first place, name and hash) and the reason.

use weld_format::Problem;

/// Transforming a component's modules failed; nothing is written.
#[derive(Debug, thiserror::Error)]
pub enum MapError {
    /// The input is a core module, not a component.
    #[error("{input}: not a component (map runs on the core modules inside a component)")]
    NotAComponent {
        /// The input.
        input: String,
    },
    /// The component is malformed.
    #[error(transparent)]
    Malformed(Box<Problem>),
    /// An `only` selector names no module.
    #[error("{input}: `{selector}` names no core module (give a module's name, or its hash name or 8 or more leading hex digits of it; `--dry-run` lists them)")]
    NoMatch {
        /// The input.
        input: String,
        /// The selector.
        selector: String,
    },
    /// The transformation failed on a module.
    #[error("{input}: {module}: {reason}")]
    Transform {
        /// The input.
        input: String,
        /// The module.
        module: String,
        /// What went wrong.
        reason: String,
    },
    /// A transformed module cannot take its original's place.
    #[error("{input}: {module}: {reason}")]
    Unfit {
        /// The input.
        input: String,
        /// The module.
        module: String,
        /// Why.
        reason: String,
    },
    /// The component with the transformed modules does not validate.
    #[error("{input}: the component with the transformed modules is not valid: {reason}")]
    Output {
        /// The input.
        input: String,
        /// The validator's reason.
        reason: String,
    },
}

//! `flatten` failed: [`FlattenError`]. Every message is one line naming the
//! component, the core instance (its index and name) and the reason.

use weld_format::Problem;

use super::FuseError;

/// Flattening a component failed.
#[derive(Debug, thiserror::Error)]
pub enum FlattenError {
    /// The input is a core module, not a component.
    #[error("{file}: not a component (flatten links the core modules inside a component)")]
    NotAComponent {
        /// The input.
        file: String,
    },
    /// The component is malformed.
    #[error(transparent)]
    Malformed(Box<Problem>),
    /// A group of core instances cannot be linked into one module: every
    /// such group, one reason each (without `--partial`).
    #[error("{}", weld_format::listed(.0))]
    Cannot(Vec<FlattenRefusal>),
    /// Linking a group failed in the fuse stages (whose message names the
    /// component and the core instance).
    #[error("{source}")]
    Link {
        /// The component.
        file: String,
        /// The group's instances.
        instances: String,
        /// What fuse said.
        #[source]
        source: Box<FuseError>,
    },
    /// The rewritten component could not be encoded (an index out of
    /// range in the input).
    #[error("{file}: {what}: {reason}")]
    Encode {
        /// The component.
        file: String,
        /// The item being written.
        what: String,
        /// Why.
        reason: String,
    },
}

impl From<Problem> for FlattenError {
    fn from(p: Problem) -> Self {
        FlattenError::Malformed(Box::new(p))
    }
}

/// Why one group of core instances cannot be flattened.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{file}: core instance {instance}: cannot flatten: {reason}")]
pub struct FlattenRefusal {
    /// The component (a nested one as `file: component N`).
    pub file: String,
    /// The instance: its index and, when the name section gives one, its
    /// name (`3 $main`).
    pub instance: String,
    /// Why.
    pub reason: String,
}

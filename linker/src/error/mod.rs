//! The errors of weld-linker: one enum per operation (one file each), gathered
//! under [`Error`]. They live here, not in their stage folders, so that a
//! stage returning [`Error`] and the enum it contributes form no module cycle.
//! A problem *inside an input* is told with the one record [`Problem`].

use weld_format::LoadError;

pub use weld_format::{Item, Problem};

pub use crate::resolve::graph::GraphError;
pub use crate::resolve::wiring::WiringFileError;

mod compose;
#[cfg(feature = "wac")]
mod document;
mod flatten;
pub(crate) mod fuse;
mod link;
mod map;

pub use compose::{ArgumentSource, BadExportReason, ComposeError, ComposeLimit};
#[cfg(feature = "wac")]
pub use document::DocumentError;
pub use flatten::{FlattenError, FlattenRefusal};
pub use fuse::FuseError;
pub use link::{
    Duplicate, LibraryFault, LibrarySetError, LinkError, NeededRefusal, Overflow, Segment, SymbolFault,
    SymbolKind, Undefined,
};
pub use map::MapError;

/// Any failure of a weld-linker operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An input could not be loaded.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// An input is malformed.
    #[error(transparent)]
    Survey(#[from] Problem),
    /// The dependency graph is not instantiable.
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// Fusing failed.
    #[error(transparent)]
    Fuse(#[from] FuseError),
    /// Composing failed.
    #[error(transparent)]
    Compose(#[from] ComposeError),
    /// A WAC document could not be composed: where in it, and why.
    #[cfg(feature = "wac")]
    #[error(transparent)]
    Document(#[from] DocumentError),
    /// Flattening a component failed.
    #[error(transparent)]
    Flatten(Box<FlattenError>),
    /// Transforming a component's modules failed.
    #[error(transparent)]
    Map(#[from] MapError),
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
    Write(#[from] weld_format::write::WriteError),
    /// `weld targets`: the world or the component could not be read.
    #[error(transparent)]
    Targets(#[from] TargetsError),
    /// `--root` resolution failed: every import it refused.
    #[error(transparent)]
    Locate(#[from] crate::resolve::locate::LocateFailure),
    /// The resolver's setup (host map, wiring file, `--root`) failed.
    #[error(transparent)]
    Setup(#[from] crate::resolve::setup::SetupError),
}

// Split and bundle errors live with their commands in `store/`.
pub use crate::store::{BundleError, SplitError};

/// `weld targets` could not run: the world or the component is unreadable.
#[derive(Debug, thiserror::Error)]
pub enum TargetsError {
    /// The world (a WIT package, file or encoded package) is unusable.
    #[error("{world}: {reason}")]
    World {
        /// Where the world came from.
        world: String,
        /// Why.
        #[source]
        reason: TargetsProblem,
    },
    /// The component is unusable.
    #[error("{component}: {reason}")]
    Component {
        /// The component.
        component: String,
        /// Why.
        #[source]
        reason: TargetsProblem,
    },
}

/// Why a world or a component cannot be used by `weld targets`.
#[derive(Debug, thiserror::Error)]
pub enum TargetsProblem {
    /// The file cannot be read.
    #[error("{0}")]
    Read(std::io::Error),
    /// wit-parser or wit-component refused it: their error chain on one
    /// line, the error kept.
    #[error("{text}")]
    Wit {
        /// The chain, one line.
        text: String,
        /// Their error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// `--world` given for a component, which has one world.
    #[error("a component has one world; --world {0} is for WIT packages")]
    OneWorld(String),
    /// Not a component at all.
    #[error("not a component")]
    NotAComponent,
    /// An encoded WIT package where a component was expected.
    #[error("is a WIT package, not a component")]
    WitPackage,
}

impl From<LinkError> for Error {
    fn from(e: LinkError) -> Self {
        Error::Link(Box::new(e))
    }
}

impl From<FlattenError> for Error {
    fn from(e: FlattenError) -> Self {
        Error::Flatten(Box::new(e))
    }
}

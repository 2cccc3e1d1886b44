//! weld-linker: the decisions. Dependency graph, resolution, and the commands
//! built on them.
//!
//! Every command is the same pipeline (see DESIGN.md §2), and the folders
//! follow it:
//!
//! | folder | stage |
//! |---|---|
//! | `resolve/` | the one resolver every command uses; `locate` (`--root`, import maps); the dependency graph (cycles, order) |
//! | `fuse/` | core modules → one: plan, icf, streaming code rewrite, emit, custom sections |
//! | `link/` | shared libraries → one module: needed closure, layout, symbols, binding (then the fuse stages) |
//! | `compose/` | components → one, shared-nothing: probe, wire, emit |
//! | `store/` | the content-addressed store, split and bundle |
//! | `report/` | what `graph`, `inspect` and `hash` print |
//! | `targets/` | `weld targets`: a component against a WIT world, semver-aware |
//!
//! The public API is the commands ([`fuse`], [`link`], [`compose`], [`graph`],
//! [`split`], [`bundle`], [`inspect`], [`hash`], [`locate`]), their options
//! and outputs, the errors and the link map. Each entry point takes its
//! options first and inputs as [`weld_format::Inputs`], which may hold files
//! or bytes in memory.

#![deny(missing_docs)]
#![deny(unsafe_code)]

mod compose;
mod error;
mod fuse;
mod limits;
mod link;
mod report;
mod resolve;
mod store;
#[cfg(feature = "component")]
mod targets;

pub use compose::error::{ArgumentSource, BadExportReason, ComposeLimit};
pub use compose::{
    compose, ComposeMap, ComposeOptions, Composed, ExportReport, ExportSpec, HoistReport, WireReport,
};
pub use error::TargetsError;
pub use error::{
    BundleError, ComposeError, Error, FuseError, GraphError, Item, Problem, SplitError, WiringFileError,
};
pub use fuse::plan::{Fold, Icf, OnConflict};
pub use fuse::{
    fuse, fuse_to, ByteReport, FoldReport, FuseOptions, Fused, InputBytes, InputMap, LinkMap, RemovedReport,
};
pub use link::{
    link, ComponentOptions, Duplicates, GotFunc, GotMem, LibLayout, LibraryReport, LinkError, LinkOptions,
    LinkReport, Linked, Undefined,
};
/// Registry references (`host/repo:tag`), as [`push`] and [`pull`] take them.
#[cfg(feature = "registry")]
pub use oci_client::Reference;
pub use report::graph::{graph, EdgeReport, GraphOptions, GraphReport, NodeReport, UnresolvedReport};
pub use report::inspect::{hash, hash_input, inspect, HashReport, InspectReport};
pub use resolve::exports::ExportLookupError;
pub use resolve::graph::{Cycle, CycleEdge};
pub use resolve::locate::{
    locate, LocateError, LocateFailure, LocateOptions, Located, Refusal, IMPORT_MAP, WASI_IMPORT_MAP,
};
pub use resolve::wiring::{parse_wiring, WireSpec};
pub use resolve::HostMap;
pub use resolve::{FileLink, ResolveOptions, Rule};
pub use store::bundle::{bundle, bundle_app, BundleOptions, Bundled};
#[cfg(feature = "registry")]
pub use store::registry::{
    credentials_for, parse_reference, pull, push, BlobLocations, BlobPush, Credentials, ProgressFn,
    PullOptions, PullReport, PushOptions, PushReport, Registry, RegistryError, RegistryOptions, Transfer,
};
pub use store::split::{split, split_apps, Split, SplitOptions, StoredChild};
pub use store::{
    artifact, open_app, record_roots, rfc3339, verified, AppManifest, Artifact, BlobEntry, BlobStore, Digest,
    Layer, MemoryStore, OciDir, RootRecord, Store, StoreError, Tag, WasmConfig, World,
    WASM_CONFIG_MEDIA_TYPE,
};
#[cfg(feature = "component")]
pub use targets::{targets, Direction, Status, TargetItem, TargetWorld, TargetsReport};
pub use weld_format::type_encode::TypeEncodeError;
pub use weld_format::write::{stage, write_atomic, Output, Staged, WriteError};

/// The stages one by one, for the per-stage criterion benches and tests
/// (feature `stages`). Not a stable API.
#[cfg(feature = "stages")]
#[doc(hidden)]
pub mod stages {
    pub use crate::compose::probe::{probe, Probe};
    pub use crate::fuse::code::rewrite_all;
    pub use crate::fuse::plan::plan;
    pub use crate::fuse::validate as validate_module;
    pub use crate::resolve::graph::ModuleGraph;
    pub use crate::resolve::locate::resolve_path;
    pub use crate::resolve::resolve;
    pub use weld_format::sections::sections;
    pub use weld_format::survey::survey_all;
    pub use weld_format::validate::validate;
}

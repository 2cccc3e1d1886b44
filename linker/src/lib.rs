//! weld-linker: the decisions. Dependency graph, resolution, and the commands
//! built on them.
//!
//! Every command is the same pipeline (see DESIGN.md §2), and the folders
//! follow it:
//!
//! | folder | stage |
//! |---|---|
//! | `resolve/` | the one resolver every command uses: import names, `locate` (`--root`, import maps), exports by name (`--export`), a `dylink.0` set's `needed` closure and symbols; the dependency graph (cycles, order) |
//! | `fuse/` | core modules → one: the plan (data, and its building beside it), icf, reach, streaming code rewrite, emit, custom sections, the link map |
//! | `link/` | shared libraries → one module: layout and binding of the resolver's symbols (then the fuse stages) |
//! | `compose/` | components → one, shared-nothing: contents, probe, wire, exports, emit, the map |
//! | `store/` | the content-addressed store, split and bundle |
//! | `report/` | what `graph`, `inspect` and `hash` print |
//! | `targets/` | `weld targets`: a component against a WIT world, semver-aware |
//! | `error/` | one error enum per operation, gathered under [`Error`] |
//!
//! The public API, re-exported below by command, is the commands ([`fuse`],
//! [`link`], [`compose`], [`graph`], [`split`], [`bundle`], [`push`],
//! [`pull`], [`inspect`], [`hash`], [`locate`], [`targets`]), their options
//! and outputs, the errors and the link map, and the store trait
//! [`BlobStore`] with its two stores. Each entry point takes its options
//! first and inputs as [`weld_format::Inputs`], which may hold files or bytes
//! in memory. Byte-level pieces (WAT-syntax printing, atomic writes, section
//! walking) are weld-format's.

#![deny(missing_docs)]
#![deny(missing_debug_implementations)]
#![deny(unsafe_code)]

mod compose;
mod error;
mod flatten;
mod fuse;
mod limits;
mod link;
mod map;
mod report;
mod resolve;
mod store;
#[cfg(feature = "component")]
mod targets;

// The commands, each with its options (the first argument) and its output.

// fuse: core modules → one core module.
pub use flatten::{flatten, FlattenOptions, FlattenReport, Flattened, GroupReport};
pub use fuse::icf::Icf;
pub use fuse::plan::{Fold, OnConflict};
pub use fuse::{
    fuse, fuse_to, ByteReport, DebugReport, FoldReport, FuseOptions, Fused, InputBytes, InputMap, LinkMap,
    RemovedReport, SegmentCounts, SourceMapOptions,
};
pub use map::{map_modules, map_plan, MapError, MapModule, MapOptions, Mapped};
pub use weld_format::write::Output;

// link: dylink.0 shared libraries → one core module.
pub use link::{
    link, ComponentOptions, Duplicate, Duplicates, GotFunc, GotMem, LibLayout, LibraryFault, LibraryReport,
    LibrarySetError, LinkOptions, LinkReport, Linked, NeededRefusal, Overflow, Segment, SymbolFault,
    SymbolKind, Undefined,
};

// compose: components → one component, shared-nothing.
pub use compose::{
    compose, ComposeMap, ComposeOptions, Composed, ExportReport, ExportSpec, HoistReport, WireReport,
};

// compose DOC.wac: a WAC document lowered into compose.
#[cfg(all(feature = "wac", feature = "registry"))]
pub use compose::document::RegistrySource;
#[cfg(feature = "wac")]
pub use compose::document::{
    compose_document, find::choose_tag, print::print_wac, ComposedDocument, PackageReport, PackageSources,
};
#[cfg(feature = "wac")]
pub use error::DocumentError;

// The one resolver every command uses: its options, the setup a command
// line names (files, `--root`, maps), and `--root` resolution itself.
pub use resolve::exports::ExportLookupError;
pub use resolve::host_map::HostMapError;
pub use resolve::locate::{
    locate, LocateError, LocateFailure, LocateOptions, Located, Refusal, IMPORT_MAP, WASI_IMPORT_MAP,
};
pub use resolve::setup::{prepare, ResolveSetup, SetupError};
pub use resolve::wiring::{parse_wiring, WireSpec};
pub use resolve::HostMap;
pub use resolve::{FileLink, ResolveOptions, Rule};

// graph, inspect, hash: reports.
pub use report::graph::{
    graph, EdgeReport, GraphOptions, GraphReport, NodeReport, SymbolEdgeReport, UnresolvedReport,
};
pub use report::inspect::{hash, hash_input, inspect, HashReport, InspectReport};
pub use report::size::{size_tree, SizeNode};
pub use report::source::size_by_source;
pub use resolve::graph::{Cycle, CycleEdge};

// The content-addressed store: the trait, its two stores, apps in it.
pub use store::{
    open_app, open_manifest, record_roots, verified, AppManifest, BlobEntry, BlobStore, Digest, Layer,
    ManifestError, MemoryStore, OciDir, RootRecord, StoreError, Tag, WasmConfig, World,
    WASM_CONFIG_MEDIA_TYPE,
};

// split, bundle: apps into the store and back.
pub use store::app::{store_app, AppOptions, StoredApp};
pub use store::bundle::{bundle, bundle_app, bundle_manifest, BundleOptions, Bundled};
pub use store::split::{split, split_apps, Split, SplitOptions, StoredChild};

// push, pull: apps to and from OCI registries.
/// Registry references (`host/repo:tag`), as [`push`] and [`pull`] take them.
#[cfg(feature = "registry")]
pub use oci_client::Reference;
#[cfg(feature = "registry")]
pub use store::registry::tags as registry_tags;
#[cfg(feature = "registry")]
pub use store::registry::{
    credentials_for, parse_reference, pull, push, BlobLocations, BlobPush, Credentials, CredentialsError,
    DockerConfigProblem, ProgressFn, PullOptions, PullReport, PushOptions, PushReport, Registry,
    RegistryError, RegistryOptions, RetryPolicy, Transfer,
};

// targets: a component against a WIT world.
#[cfg(feature = "component")]
pub use targets::{targets, Direction, Status, TargetItem, TargetWorld, TargetsReport};

// The errors: one enum per operation, gathered under `Error`; a problem
// inside an input is the one record `Problem`.
pub use error::{
    ArgumentSource, BadExportReason, BundleError, ComposeError, ComposeLimit, Error, FlattenError,
    FlattenRefusal, FuseError, GraphError, Item, LinkError, Problem, SplitError, TargetsError,
    TargetsProblem, WiringFileError,
};
pub use weld_format::write::WriteError;

/// The stages one by one, for the per-stage criterion benches and tests
/// (feature `stages`). Not a stable API.
#[cfg(feature = "stages")]
#[doc(hidden)]
pub mod stages {
    pub use crate::compose::probe::{probe, Probe};
    pub use crate::fuse::code::rewrite_all;
    pub use crate::fuse::plan::build::plan;
    pub use crate::fuse::validate as validate_module;
    pub use crate::resolve::graph::ModuleGraph;
    pub use crate::resolve::locate::resolve_path;
    pub use crate::resolve::resolve;
    pub use weld_format::sections::sections;
    pub use weld_format::survey::survey_all;
    pub use weld_format::validate::validate;
}

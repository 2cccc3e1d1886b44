//! weld-linker: the decisions. Dependency graph, resolution, and the commands
//! built on them.
//!
//! Every command is the same pipeline (see DESIGN.md §2):
//! [`weld_format::load`] → [`weld_format::survey`] → [`resolve`] →
//! [`graph`](mod@graph) → plan → emit. Each entry point takes its options first and
//! inputs as [`weld_format::Inputs`], which may hold files or bytes in memory.

#![deny(missing_docs)]
#![deny(unsafe_code)]

pub mod bundle;
pub mod code;
pub mod compose;
pub mod const_expr;
pub mod custom;
pub mod describe;
pub mod emit;
pub mod error;
pub mod fuse;
pub mod graph;
pub mod graph_report;
pub mod inspect;
pub mod limits;
pub mod locate;
pub mod plan;
pub mod resolve;
pub mod sections;
pub mod split;
pub mod store;
pub mod type_encode;
pub mod validate;

use rayon::prelude::*;
use weld_format::{Inputs, Survey};

pub use compose::{compose, ComposeOptions, Composed};
pub use error::{ComposeError, Error, FuseError, GraphError, ImportError, LinkError};
pub use fuse::{fuse, write_atomic, FuseOptions, Fused, LinkMap};
pub use graph_report::{graph, GraphOptions, GraphReport};
pub use inspect::{hash, hash_input, inspect, HashReport, InspectReport};
pub use locate::{locate, LocateOptions, Located};
pub use plan::{Icf, OnConflict};

/// Surveys every input in parallel, in input order. The first malformed input
/// (in input order) is the error.
pub fn survey_all(inputs: &Inputs) -> Result<Vec<Survey<'_>>, Error> {
    let items: Vec<_> = inputs.iter().collect();
    items
        .par_iter()
        .map(|i| weld_format::survey(&i.display, i.bytes()))
        .collect::<Vec<_>>()
        .into_iter()
        .map(|r| r.map_err(Error::from))
        .collect()
}

//! One file per command: a clap `Args` struct and an `exec`.

pub mod fuse;
pub mod graph;
pub mod hash;
pub mod inspect;

use weld_format::{InputSpec, Inputs};

/// Parses `[name=]path` specs and loads them.
pub fn load(specs: &[String]) -> anyhow::Result<Inputs> {
    let specs = specs
        .iter()
        .map(|s| InputSpec::parse(s))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Inputs::load(&specs)?)
}

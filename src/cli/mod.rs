//! One file per command: a clap `Args` struct and an `exec`.

pub mod fuse;
pub mod graph;
pub mod hash;
pub mod inspect;

use std::path::PathBuf;

use weld_format::{InputSpec, Inputs};
use weld_linker::resolve::FileLink;
use weld_linker::LocateOptions;

fn specs(specs: &[String]) -> anyhow::Result<Vec<InputSpec>> {
    Ok(specs
        .iter()
        .map(|s| InputSpec::parse(s))
        .collect::<Result<Vec<_>, _>>()?)
}

/// Parses `[name=]path` specs and loads them.
pub fn load(args: &[String]) -> anyhow::Result<Inputs> {
    Ok(Inputs::load(&specs(args)?)?)
}

/// Parses specs, adds every file their imports reach under `root` (the
/// capability-safe rules of `weld_linker::locate`), and loads them all.
pub fn load_under_root(
    args: &[String],
    root: Option<PathBuf>,
    hosts: &[String],
) -> anyhow::Result<(Inputs, Vec<FileLink>)> {
    let located = weld_linker::locate(
        &LocateOptions {
            root,
            hosts: hosts.to_vec(),
        },
        specs(args)?,
    )?;
    Ok((Inputs::load(&located.specs)?, located.links))
}

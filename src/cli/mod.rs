//! One file per command: a clap `Args` struct and an `exec`.

pub mod compose;
pub mod fuse;
pub mod graph;
pub mod hash;
pub mod inspect;
pub mod split;

use std::path::PathBuf;

use weld_format::{InputSpec, Inputs};
use weld_linker::LocateOptions;
use weld_linker::ResolveOptions;

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

/// How import names are resolved: the arguments `fuse` and `graph` share.
#[derive(clap::Args)]
pub struct ResolveArgs {
    /// Treat this import module name as a host namespace (repeatable).
    #[arg(long = "host", value_name = "NAME")]
    hosts: Vec<String>,
    /// Resolve import names that are relative paths, and import maps
    /// (`weld.imports.toml`), to files inside DIR only.
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// The content-addressed store where import-map entries naming a digest
    /// (`sha256:<hex>`) resolve.
    #[arg(long, value_name = "DIR")]
    store: Option<PathBuf>,
}

impl ResolveArgs {
    /// Parses the input specs, adds every file their imports reach under
    /// `--root` (the capability-safe rules of `weld_linker::locate`), and
    /// loads them all.
    pub fn load(self, args: &[String]) -> anyhow::Result<(Inputs, ResolveOptions)> {
        let opts = LocateOptions {
            root: self.root,
            hosts: self.hosts.clone(),
            store: self.store,
        };
        let located = weld_linker::locate(&opts, specs(args)?)?;
        let inputs = Inputs::load(&located.specs)?;
        Ok((
            inputs,
            ResolveOptions {
                hosts: self.hosts,
                files: located.links,
            },
        ))
    }
}

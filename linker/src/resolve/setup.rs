//! The resolver's setup as a command line or a toolchain names it: host
//! namespaces, a `--root` directory, a store, a host import map file and a
//! wiring file → the loaded inputs (with every file their imports reach
//! under the root) and the [`ResolveOptions`] that `fuse`, `compose` and
//! `graph` take. One read of each file; the inputs are loaded once.

use std::path::PathBuf;

use weld_format::Inputs;

use super::host_map::HostMap;
use super::host_map::HostMapError;
use super::locate::LocateFailure;
use super::locate::{locate, LocateOptions};
use super::wiring::parse_wiring;
use super::wiring::WiringFileError;
use super::ResolveOptions;
use crate::store::{BlobStore, OciDir, StoreError};

/// How import names are resolved, as files name it.
#[derive(Debug, Clone, Default)]
pub struct ResolveSetup {
    /// Import module names treated as host namespaces, besides the defaults.
    pub hosts: Vec<String>,
    /// Resolve import names that are relative paths, and import maps, to
    /// files inside this directory only.
    pub root: Option<PathBuf>,
    /// The store where import-map entries naming a digest resolve.
    pub store: Option<PathBuf>,
    /// A host import map file (JSON or TOML).
    pub host_map: Option<PathBuf>,
    /// A TOML file of explicit connections between components.
    pub wiring: Option<PathBuf>,
}

/// A setup whose files or `--root` resolution fail.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The host import map cannot be used.
    #[error(transparent)]
    HostMap(#[from] HostMapError),
    /// A file the setup names cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The wiring file is malformed.
    #[error(transparent)]
    Wiring(#[from] WiringFileError),
    /// The store cannot be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// `--root` resolution refused imports.
    #[error(transparent)]
    Locate(#[from] LocateFailure),
}

/// Reads the setup's files, adds every file the inputs' imports reach under
/// the root (the capability-safe rules of [`locate`], each file loaded
/// once), and returns the inputs with the options to resolve them.
pub fn prepare(setup: &ResolveSetup, inputs: Inputs) -> Result<(Inputs, ResolveOptions), SetupError> {
    let host_map = setup.host_map.as_deref().map(HostMap::read).transpose()?;
    let wiring = match &setup.wiring {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| SetupError::Read {
                path: path.clone(),
                source,
            })?;
            parse_wiring(&text, &path.display().to_string())?
        }
        None => Vec::new(),
    };
    let opts = LocateOptions {
        root: setup.root.clone(),
        hosts: setup.hosts.clone(),
        host_map: host_map.clone(),
    };
    // The store is read only for import-map entries under a root.
    let store = match (&setup.root, &setup.store) {
        (Some(_), Some(dir)) => Some(OciDir::open(dir)?),
        _ => None,
    };
    let located = locate(&opts, inputs, store.as_ref().map(|s| s as &dyn BlobStore))?;
    Ok((
        located.inputs,
        ResolveOptions {
            hosts: setup.hosts.clone(),
            files: located.links,
            wiring,
            host_map,
        },
    ))
}

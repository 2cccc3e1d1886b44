//! One file per command: a clap `Args` struct and an `exec`.

/// `println!` for command output: a closed pipe ends the run quietly (see
/// [`print`]). Used inside functions returning `anyhow::Result`.
macro_rules! outln {
    ($($t:tt)*) => {
        $crate::cli::print(&format!("{}\n", format_args!($($t)*)))?
    };
}

/// `print!` for command output, as [`outln!`].
macro_rules! out {
    ($($t:tt)*) => {
        $crate::cli::print(&format!($($t)*))?
    };
}

pub mod compose;
pub mod flatten;
pub mod fuse;
pub mod graph;
pub mod hash;
pub mod inspect;
pub mod link;
pub mod map;
pub mod output;
pub mod registry;
pub mod size;
mod size_html;
pub mod split;
pub mod targets;

use std::path::PathBuf;

use weld_format::{InputSpec, Inputs};
use weld_linker::{ResolveOptions, ResolveSetup};

fn specs(specs: &[String]) -> anyhow::Result<Vec<InputSpec>> {
    Ok(specs
        .iter()
        .map(|s| InputSpec::parse(s))
        .collect::<Result<Vec<_>, _>>()?)
}

/// Writes `text` to standard output. A closed pipe (`weld ... | head`)
/// ends the process quietly with the status a shell gives SIGPIPE (141).
pub fn print(text: &str) -> anyhow::Result<()> {
    write_stdout(text.as_bytes())
}

/// Writes `bytes` to standard output, as [`print`] does text.
pub fn write_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(141),
        r => Ok(r?),
    }
}

/// Parses `[name=]path` specs and loads them.
pub fn load(args: &[String]) -> anyhow::Result<Inputs> {
    Ok(Inputs::load(&specs(args)?)?)
}

/// How import names are resolved: the arguments `fuse`, `compose` and
/// `graph` share (one resolver answers all three).
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
    /// A host import map (JSON or TOML: `"@wasi/fs" = "wasi_snapshot_preview1"`):
    /// `@name` imports are renamed to the host's module names in the output,
    /// and an `@name` import it lacks is an error.
    #[arg(long, value_name = "FILE")]
    host_map: Option<PathBuf>,
    /// A TOML file of explicit connections between components
    /// (`[importer] "import" = "provider"`), taken before name matching.
    #[arg(long, value_name = "FILE")]
    wiring: Option<PathBuf>,
}

impl ResolveArgs {
    /// Loads the inputs, adds every file their imports reach under `--root`
    /// and reads the host map and wiring files (`weld_linker::prepare`).
    /// `--store`, when given.
    pub fn store(&self) -> Option<&std::path::Path> {
        self.store.as_deref()
    }

    /// The resolver flags given other than `--store` (a WAC document wires
    /// everything itself, so they would be ignored).
    pub fn wiring_flags(&self) -> Vec<&'static str> {
        let mut given = Vec::new();
        if !self.hosts.is_empty() {
            given.push("--host");
        }
        if self.root.is_some() {
            given.push("--root");
        }
        if self.host_map.is_some() {
            given.push("--host-map");
        }
        if self.wiring.is_some() {
            given.push("--wiring");
        }
        given
    }

    pub fn load(self, args: &[String]) -> anyhow::Result<(Inputs, ResolveOptions)> {
        let setup = ResolveSetup {
            hosts: self.hosts,
            root: self.root,
            store: self.store,
            host_map: self.host_map,
            wiring: self.wiring,
        };
        Ok(weld_linker::prepare(&setup, load(args)?)?)
    }
}

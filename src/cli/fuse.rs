//! `weld fuse [name=]a.wasm ... -o out.wasm`

use std::path::PathBuf;
use std::process::ExitCode;

use weld_linker::{FuseOptions, Icf, OnConflict};

/// What to do with export name conflicts.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Conflict {
    /// Refuse.
    Error,
    /// Keep the first; rename later ones to `<input>.<name>`.
    Rename,
    /// Keep the first; drop later ones.
    Skip,
}

/// Identical code folding.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Folding {
    /// Fold functions whose identity is not observable (not exported, address not taken).
    Safe,
    /// Fold every identical function.
    All,
    /// Do not fold.
    None,
}

impl From<Folding> for Icf {
    fn from(f: Folding) -> Icf {
        match f {
            Folding::Safe => Icf::Safe,
            Folding::All => Icf::All,
            Folding::None => Icf::None,
        }
    }
}

/// Arguments of `weld fuse`.
#[derive(clap::Args)]
pub struct Args {
    /// Core modules as `[name=]path` (`.wasm` or `.wat`); an import `(module "b" ...)` links to the input named `b`.
    #[arg(required = true)]
    inputs: Vec<String>,
    /// The fused module.
    #[arg(short, long)]
    output: PathBuf,
    /// Export name conflicts between inputs.
    #[arg(long, value_enum, default_value = "error")]
    on_conflict: Conflict,
    /// Keep only these exports (comma-separated).
    #[arg(long, value_delimiter = ',')]
    exports: Option<Vec<String>>,
    /// Skip validating the output.
    #[arg(long)]
    no_validate: bool,
    /// Drop debug information: the `name` section, and DWARF without a warning.
    #[arg(long)]
    strip_debug: bool,
    /// Write the link map (input -> output indices) as JSON.
    #[arg(long, value_name = "FILE")]
    map: Option<PathBuf>,
    /// Identical code folding.
    #[arg(long, value_enum, default_value = "safe")]
    icf: Folding,
    #[command(flatten)]
    resolve: super::ResolveArgs,
}

/// Runs `weld fuse`.
pub fn exec(args: Args) -> anyhow::Result<ExitCode> {
    let (inputs, resolve) = args.resolve.load(&args.inputs)?;
    let opts = FuseOptions {
        validate: !args.no_validate,
        on_conflict: match args.on_conflict {
            Conflict::Error => OnConflict::Error,
            Conflict::Rename => OnConflict::Rename,
            Conflict::Skip => OnConflict::Skip,
        },
        exports: args.exports,
        strip_debug: args.strip_debug,
        resolve,
        icf: args.icf.into(),
    };
    let fused = weld_linker::fuse(&opts, &inputs)?;
    for w in &fused.warnings {
        eprintln!("weld: warning: {w}");
    }
    weld_linker::write_atomic(&args.output, &fused.bytes)?;
    if let Some(map) = &args.map {
        weld_linker::write_atomic(map, serde_json::to_string_pretty(&fused.map)?.as_bytes())?;
    }
    Ok(ExitCode::SUCCESS)
}

//! `weld graph INPUTS... [--format text|dot|json]`

use std::path::PathBuf;
use std::process::ExitCode;

use weld_linker::GraphOptions;

/// Output formats.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Format {
    /// Human-readable text.
    Text,
    /// Graphviz DOT.
    Dot,
    /// JSON.
    Json,
}

/// Arguments of `weld graph`.
#[derive(clap::Args)]
pub struct Args {
    /// Inputs as `[name=]path` (`.wasm` or `.wat`); the name defaults to the file stem.
    #[arg(required = true)]
    inputs: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Shared libraries (`dylink.0`): where needed libraries that are not
    /// inputs are found, as `weld link --lib-dir` finds them (repeatable).
    #[arg(long = "lib-dir", value_name = "DIR")]
    lib_dirs: Vec<PathBuf>,
    #[command(flatten)]
    resolve: super::ResolveArgs,
}

/// Runs `weld graph`. Exits 1 when the graph has a cycle, or has problems
/// `fuse`, `compose` or `link` would refuse (after printing it).
pub fn exec(args: Args) -> anyhow::Result<ExitCode> {
    let (inputs, resolve) = args.resolve.load(&args.inputs)?;
    let opts = GraphOptions {
        resolve,
        lib_dirs: args.lib_dirs,
    };
    let report = weld_linker::graph(&opts, &inputs)?;
    match args.format {
        Format::Text => out!("{}", report.to_text()),
        Format::Dot => out!("{}", report.to_dot()),
        Format::Json => outln!("{}", serde_json::to_string_pretty(&report)?),
    }
    // What `fuse` or `compose` would refuse is an error here too.
    for p in &report.problems {
        eprintln!("weld: error: {p}");
    }
    if !report.cycles.is_empty() {
        let err = weld_linker::GraphError::Cycles {
            cycles: report.cycles,
            more: report.more_cycle_edges,
        };
        eprintln!("weld: error: {err}");
        return Ok(ExitCode::from(1));
    }
    Ok(if report.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

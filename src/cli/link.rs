//! `weld link MAIN LIBS... -o out.wasm`

use std::path::PathBuf;
use std::process::ExitCode;

use weld_linker::{ComponentOptions, Duplicates, LinkOptions};

use super::fuse::Folding;

/// What to do with a symbol two libraries define.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum DuplicateMode {
    /// Warn, naming both libraries; the first in load order is used.
    Warn,
    /// Refuse.
    Error,
}

/// Arguments of `weld link`.
#[derive(clap::Args)]
pub struct Args {
    /// MAIN (a command exporting `_start`, or a reactor), then shared libraries
    /// (`dylink.0`), as `[name=]path`.
    #[arg(required = true)]
    inputs: Vec<String>,
    #[command(flatten)]
    out: super::output::OutputArgs,
    /// Where needed libraries that are not inputs are found (bare file names
    /// only, nothing outside the directory; repeatable, searched in order).
    #[arg(long = "lib-dir", value_name = "DIR")]
    lib_dirs: Vec<PathBuf>,
    /// An adapter for --component, as NAME=FILE
    /// (`wasi_snapshot_preview1=wasi_snapshot_preview1.command.wasm`).
    #[arg(long = "adapt", value_name = "NAME=FILE")]
    adapt: Vec<String>,
    /// Wrap the result into a component (what `wasm-tools component new` does).
    #[arg(long)]
    component: bool,
    /// Bytes of stack, placed first in memory (suffixes k and m allowed).
    #[arg(long, value_name = "N", default_value = "1m", value_parser = parse_size)]
    stack_size: u32,
    /// Make undefined functions trapping stubs instead of an error.
    #[arg(long)]
    stub_missing: bool,
    /// Symbols defined by two libraries.
    #[arg(long, value_enum, default_value = "warn")]
    warn_duplicates: DuplicateMode,
    /// Write the link map (bases, GOT, init order, index maps) as JSON.
    #[arg(long, value_name = "FILE")]
    map: Option<PathBuf>,
    /// Skip validating the output.
    #[arg(long)]
    no_validate: bool,
    /// Drop the `name` section and debug sections.
    #[arg(long)]
    strip_debug: bool,
    /// Identical code folding across the libraries.
    #[arg(long, value_enum, default_value = "safe")]
    icf: Folding,
}

fn parse_size(s: &str) -> Result<u32, String> {
    let t = s.trim().to_ascii_lowercase();
    let (digits, scale) = match t.strip_suffix('m') {
        Some(d) => (d, 1u64 << 20),
        None => match t.strip_suffix('k') {
            Some(d) => (d, 1u64 << 10),
            None => (t.as_str(), 1),
        },
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{s}` is not a size in bytes (e.g. 65536, 64k, 1m)"))?;
    u32::try_from(n * scale).map_err(|_| format!("`{s}` is larger than 4 GiB"))
}

/// Runs `weld link`.
pub fn exec(args: Args) -> anyhow::Result<ExitCode> {
    args.out.check(&[("--map", args.map.as_deref())])?;
    if !args.adapt.is_empty() && !args.component {
        anyhow::bail!(
            "--adapt needs --component: the adapter is linked when the module is wrapped into a component"
        );
    }
    let mut adapters = Vec::new();
    for spec in &args.adapt {
        let (name, file) = spec
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("--adapt {spec}: expected NAME=FILE"))?;
        let bytes =
            std::fs::read(file).map_err(|e| anyhow::anyhow!("--adapt {spec}: cannot read {file}: {e}"))?;
        adapters.push((name.to_string(), bytes));
    }
    let inputs = super::load(&args.inputs)?;
    let opts = LinkOptions {
        lib_dirs: args.lib_dirs,
        stack_size: args.stack_size,
        stub_missing: args.stub_missing,
        duplicates: match args.warn_duplicates {
            DuplicateMode::Warn => Duplicates::Warn,
            DuplicateMode::Error => Duplicates::Error,
        },
        validate: !args.no_validate,
        icf: args.icf.into(),
        strip_debug: args.strip_debug,
        component: args.component.then_some(ComponentOptions { adapters }),
    };
    let linked = weld_linker::link(&opts, inputs)?;
    for w in &linked.warnings {
        super::output::warn(w);
    }
    args.out.write(&linked.bytes)?;
    if let Some(map) = &args.map {
        args.out
            .write_side(map, serde_json::to_string_pretty(&linked.map)?.as_bytes())?;
    }
    Ok(ExitCode::SUCCESS)
}

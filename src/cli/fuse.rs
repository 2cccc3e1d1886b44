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
    #[command(flatten)]
    out: super::output::OutputArgs,
    /// Export name conflicts between inputs.
    #[arg(long, value_enum, default_value = "error")]
    on_conflict: Conflict,
    /// Keep only these exports (comma-separated).
    #[arg(long, value_delimiter = ',')]
    exports: Option<Vec<String>>,
    /// Skip validation (of the inputs and the output).
    #[arg(long, conflicts_with = "validate_output")]
    no_validate: bool,
    /// Validate the output's function bodies too, reading them again (the inputs' bodies are always validated).
    #[arg(long)]
    validate_output: bool,
    /// Drop debug information: the `name` section, and DWARF without a warning.
    #[arg(long)]
    strip_debug: bool,
    /// An input's source map, as `NAME=FILE` (instead of the file its `sourceMappingURL` section names); repeatable.
    #[arg(long = "source-map", value_name = "NAME=FILE")]
    source_maps: Vec<String>,
    /// Write the fused module's source map (every input's mappings, moved) to FILE.
    #[arg(long, value_name = "FILE")]
    output_source_map: Option<PathBuf>,
    /// The URL the fused module's `sourceMappingURL` section names (default with --output-source-map: the map's file name).
    #[arg(long, value_name = "URL")]
    source_map_url: Option<String>,
    /// Write the link map (input -> output indices) as JSON.
    #[arg(long, value_name = "FILE")]
    map: Option<PathBuf>,
    /// Identical code folding.
    #[arg(long, value_enum, default_value = "safe")]
    icf: Folding,
    /// Keep functions that nothing reaches (exports, start, tables, ref.func) instead of removing them.
    #[arg(long)]
    keep_unused: bool,
    /// Keep functions in input order instead of giving the most used the shortest indices.
    #[arg(long)]
    keep_order: bool,
    /// Put every memory in one, each at a fixed base, with its bounds checked (for engines with
    /// one memory, or more than 100 memories). Refused with the reason where behaviour would change.
    #[arg(long)]
    merge_memories: bool,
    /// Put every table in one, each at a fixed base, with its bounds checked (for engines with one
    /// table, or more than 100 tables). Refused with the reason where behaviour would change.
    #[arg(long)]
    merge_tables: bool,
    /// Print the wall time of every stage to stderr.
    #[arg(long)]
    timings: bool,
    #[command(flatten)]
    resolve: super::ResolveArgs,
}

/// Runs `weld fuse`.
pub fn exec(args: Args) -> anyhow::Result<ExitCode> {
    args.out.check(&[
        ("--map", args.map.as_deref()),
        ("--output-source-map", args.output_source_map.as_deref()),
    ])?;
    let (inputs, resolve) = args.resolve.load(&args.inputs)?;
    let mut source_maps = weld_linker::SourceMapOptions {
        output: args.output_source_map.is_some(),
        url: args.source_map_url.clone().or_else(|| {
            let file = args.output_source_map.as_ref()?.file_name()?;
            Some(file.to_string_lossy().into_owned())
        }),
        ..Default::default()
    };
    for s in &args.source_maps {
        let Some((name, file)) = s.split_once('=') else {
            anyhow::bail!("--source-map {s}: expected NAME=FILE");
        };
        source_maps.inputs.push((name.to_string(), PathBuf::from(file)));
    }
    let opts = FuseOptions {
        validate: !args.no_validate,
        validate_output: args.validate_output,
        on_conflict: match args.on_conflict {
            Conflict::Error => OnConflict::Error,
            Conflict::Rename => OnConflict::Rename,
            Conflict::Skip => OnConflict::Skip,
        },
        exports: args.exports,
        strip_debug: args.strip_debug,
        resolve,
        icf: args.icf.into(),
        keep_unused: args.keep_unused,
        keep_order: args.keep_order,
        source_maps,
        merge_memories: args.merge_memories,
        merge_tables: args.merge_tables,
    };
    // A binary file is written while it is validated and renamed into
    // place once it is valid; text and standard output are written after.
    let fused = match (args.out.file(), args.out.wat) {
        (Some(path), false) => {
            let fused = weld_linker::fuse_to(&opts, &inputs, path)?;
            args.out.summarize(fused.bytes.len());
            fused
        }
        _ => {
            let fused = weld_linker::fuse(&opts, &inputs)?;
            args.out.write(&fused.bytes)?;
            fused
        }
    };
    for w in &fused.warnings {
        super::output::warn(w);
    }
    if args.timings {
        for (stage, t) in &fused.timings {
            eprintln!("weld: {stage:>18} {:8.1} ms", t.as_secs_f64() * 1e3);
        }
    }
    if let (Some(path), Some(map)) = (&args.output_source_map, &fused.source_map) {
        args.out.write_side(path, map)?;
    }
    if let Some(map) = &args.map {
        args.out
            .write_side(map, serde_json::to_string_pretty(&fused.map)?.as_bytes())?;
    }
    // The process ends here: the kernel frees the inputs' mappings and the
    // output's buffer at exit in one go, where dropping them would unmap
    // them one by one (257 calls for a split program, each a TLB shootdown
    // on the pool's threads: 3-4 ms).
    std::mem::forget((inputs, fused));
    Ok(ExitCode::SUCCESS)
}

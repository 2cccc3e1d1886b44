//! `weld flatten COMPONENT -o OUT`

use std::path::PathBuf;
use std::process::ExitCode;

use weld_linker::FlattenOptions;

use super::fuse::Folding;

/// Arguments of `weld flatten`.
#[derive(clap::Args)]
pub struct Args {
    /// The component, as `[name=]path` (`-` for standard input).
    input: String,
    #[command(flatten)]
    out: super::output::OutputArgs,
    /// Write what was linked (groups, dropped shims, direct calls, core
    /// modules before and after) as JSON.
    #[arg(long, value_name = "FILE")]
    map: Option<PathBuf>,
    /// Link the groups that can be linked and leave the others as they
    /// were, saying which and why, instead of refusing.
    #[arg(long)]
    partial: bool,
    /// Skip validation (of the linked modules' inputs and the output).
    #[arg(long, conflicts_with = "validate_output")]
    no_validate: bool,
    /// Validate the output's function bodies too, reading them again (the
    /// linked modules' input bodies are always validated).
    #[arg(long)]
    validate_output: bool,
    /// Drop the linked modules' `name` sections and debug sections.
    #[arg(long)]
    strip_debug: bool,
    /// Identical code folding inside each linked module.
    #[arg(long, value_enum, default_value = "safe")]
    icf: Folding,
}

/// Runs `weld flatten`.
pub fn exec(args: Args) -> anyhow::Result<ExitCode> {
    args.out.check(&[("--map", args.map.as_deref())])?;
    let inputs = super::load(std::slice::from_ref(&args.input))?;
    let input = inputs.iter().next().expect("one input");
    let opts = FlattenOptions {
        partial: args.partial,
        validate: !args.no_validate,
        validate_output: args.validate_output,
        strip_debug: args.strip_debug,
        icf: args.icf.into(),
    };
    let out = weld_linker::flatten(&opts, &input.display, input.bytes())?;
    for w in &out.warnings {
        super::output::warn(w);
    }
    args.out.write(&out.bytes)?;
    if let Some(map) = &args.map {
        args.out
            .write_side(map, serde_json::to_string_pretty(&out.report)?.as_bytes())?;
    }
    Ok(ExitCode::SUCCESS)
}

//! `weld inspect FILE [--json]`

use std::process::ExitCode;

/// Arguments of `weld inspect`.
#[derive(clap::Args)]
pub struct Args {
    /// The module or component.
    file: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `weld inspect`.
pub fn exec(args: Args) -> anyhow::Result<ExitCode> {
    let inputs = super::load(std::slice::from_ref(&args.file))?;
    let input = inputs.iter().next().expect("one input was loaded");
    let report = weld_linker::inspect(input)?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        out!("{}", report.to_text());
    }
    Ok(ExitCode::SUCCESS)
}

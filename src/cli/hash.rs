//! `weld hash FILE`

use std::process::ExitCode;

/// Arguments of `weld hash`.
#[derive(clap::Args)]
pub struct Args {
    /// The module or component (`.wasm`, or `.wat` which is hashed as the binary it denotes).
    file: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `weld hash`.
pub fn exec(args: Args) -> anyhow::Result<ExitCode> {
    let inputs = super::load(std::slice::from_ref(&args.file))?;
    let input = inputs.iter().next().expect("one input was loaded");
    let r = weld_linker::hash_input(input)?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        outln!("sha256:         {}", r.sha256);
        outln!("blake3:         {}", r.blake3);
        outln!("canonical name: {}", r.canonical_name);
        outln!("size:           {}", r.size);
    }
    Ok(ExitCode::SUCCESS)
}

//! `weld targets WORLD COMPONENT`

use std::path::PathBuf;
use std::process::ExitCode;

use weld_linker::TargetWorld;

/// Arguments of `weld targets`.
#[derive(clap::Args)]
pub struct Args {
    /// The world: a WIT package directory (with `deps/`), a `.wit` file, or
    /// an encoded WIT package or component (`.wasm`).
    #[arg(value_name = "WORLD")]
    world: PathBuf,
    /// The component to check (`.wasm` or `.wat`).
    #[arg(value_name = "COMPONENT")]
    component: String,
    /// The world in the package: `command`, or a full name such as
    /// `wasi:cli/command@0.2.6` (needed when the package has several).
    #[arg(long = "world", value_name = "NAME")]
    world_name: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// The world of `--target WORLD [--target-world NAME]`, loaded.
pub fn load_world(path: &std::path::Path, name: Option<&str>) -> anyhow::Result<TargetWorld> {
    Ok(TargetWorld::load(path, name)?)
}

/// Runs `weld targets`: exit 0 when the component conforms, 1 when not.
pub fn exec(args: Args) -> anyhow::Result<ExitCode> {
    let world = load_world(&args.world, args.world_name.as_deref())?;
    let inputs = super::load(std::slice::from_ref(&args.component))?;
    let input = inputs.iter().next().expect("one input was loaded");
    let report = weld_linker::targets(&world, &input.display, input.bytes())?;
    let text = if args.json {
        format!("{}\n", serde_json::to_string_pretty(&report)?)
    } else {
        report.to_text()
    };
    super::print(&text)?;
    Ok(if report.conforms {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

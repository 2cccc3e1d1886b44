//! `weld compose root.wasm --plug a.wasm ... -o out.wasm`

use std::path::PathBuf;
use std::process::ExitCode;

use weld_linker::{ComposeOptions, ExportSpec};

/// Arguments of `weld compose`.
#[derive(clap::Args)]
pub struct Args {
    /// The root component as `[name=]path` (`.wasm` or `.wat`); its exports are the result's.
    #[arg(value_name = "COMPONENT")]
    main: String,
    /// A component to plug in (repeatable): its exports satisfy the imports of the root and of the other plugs.
    #[arg(long = "plug", value_name = "[NAME=]PATH")]
    plugs: Vec<String>,
    #[command(flatten)]
    out: super::output::OutputArgs,
    /// Also export this export of another input, as `INPUT/EXPORT`
    /// (repeatable). EXPORT is looked up by the semver rule (exact, else the
    /// highest version on the same track) and keeps the provider's name
    /// unless renamed with `=NEW-NAME`.
    #[arg(long = "export", value_name = "INPUT/EXPORT[=NEW-NAME]")]
    exports: Vec<String>,
    /// Skip validating function bodies of the output (types and wiring are always checked).
    #[arg(long)]
    no_validate: bool,
    /// Core modules byte-identical in several children and at least this big
    /// are defined once and aliased by each.
    #[arg(long, default_value_t = 1024, value_name = "BYTES")]
    min_size: usize,
    /// Write what was done (order, wires, imports of the result, modules
    /// defined once for several children) as JSON.
    #[arg(long, value_name = "FILE")]
    map: Option<PathBuf>,
    /// Check the result against this WIT world before writing it (as
    /// `weld targets` does): a WIT package directory, a `.wit` file or an
    /// encoded package (`.wasm`).
    #[arg(long, value_name = "WORLD")]
    target: Option<PathBuf>,
    /// The world in the `--target` package (`command`, or a full name).
    #[arg(long, value_name = "NAME", requires = "target")]
    target_world: Option<String>,
    #[command(flatten)]
    resolve: super::ResolveArgs,
}

/// Runs `weld compose`.
pub fn exec(args: Args) -> anyhow::Result<ExitCode> {
    args.out.check(&[("--map", args.map.as_deref())])?;
    let mut all = vec![args.main.clone()];
    all.extend(args.plugs.iter().cloned());
    let (inputs, resolve) = args.resolve.load(&all)?;
    let exports = args
        .exports
        .iter()
        .map(|e| {
            let (spec, rename) = match e.split_once('=') {
                Some((spec, to)) => (spec, Some(to)),
                None => (e.as_str(), None),
            };
            match (spec.split_once('/'), rename) {
                (_, Some("")) => Err(anyhow::anyhow!("--export {e}: expected INPUT/EXPORT=NEW-NAME")),
                (Some((input, name)), _) if !input.is_empty() && !name.is_empty() => Ok(ExportSpec {
                    input: input.to_string(),
                    name: name.to_string(),
                    rename: rename.map(str::to_string),
                }),
                _ => Err(anyhow::anyhow!("--export {e}: expected INPUT/EXPORT[=NEW-NAME]")),
            }
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let target = match &args.target {
        Some(path) => Some(super::targets::load_world(path, args.target_world.as_deref())?),
        None => None,
    };
    let opts = ComposeOptions {
        resolve,
        exports,
        validate: !args.no_validate,
        min_size: args.min_size,
        target,
    };
    let composed = weld_linker::compose(&opts, &inputs)?;
    for w in &composed.warnings {
        super::output::warn(w);
    }
    for n in &composed.notes {
        eprintln!("weld: note: {n}");
    }
    if let Some(t) = &composed.target {
        let semver = t
            .items
            .iter()
            .filter(|i| matches!(i.status, weld_linker::Status::Semver { .. }))
            .count();
        eprintln!(
            "weld: conforms to {} ({} items, {semver} by semver)",
            t.world,
            t.items.len()
        );
    }
    args.out.write(&composed.bytes)?;
    if !composed.hoisted.is_empty() {
        let saved: u64 = composed
            .hoisted
            .iter()
            .map(|h| h.size * (h.users.len() as u64 - 1))
            .sum();
        eprintln!(
            "weld: {} core modules shared by several children defined once ({saved} bytes saved)",
            composed.hoisted.len()
        );
    }
    if let Some(map) = &args.map {
        args.out.write_side(map, composed.map().to_json().as_bytes())?;
    }
    Ok(ExitCode::SUCCESS)
}

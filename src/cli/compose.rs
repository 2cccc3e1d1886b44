//! `weld compose root.wasm --plug a.wasm ... -o out.wasm`, or
//! `weld compose app.wac [--dep ns:pkg=PATH] [--deps-dir DIR] [--registry HOST/NS] -o out.wasm`

use std::path::PathBuf;
use std::process::ExitCode;

use weld_linker::{ComposeOptions, ExportSpec};

/// Arguments of `weld compose`.
#[derive(clap::Args)]
pub struct Args {
    /// The root component as `[name=]path` (`.wasm` or `.wat`), whose
    /// exports are the result's; or a WAC document (`.wac`), which names
    /// its packages, wires them and lists the exports itself.
    #[arg(value_name = "COMPONENT|DOC.wac")]
    main: String,
    /// A package of the WAC document from this file (repeatable): `ns:pkg`
    /// for any version the document names, `ns:pkg@VERSION` for that one.
    #[arg(long = "dep", value_name = "NS:PKG[@VER]=PATH")]
    deps: Vec<String>,
    /// Where the WAC document's packages are looked for after `--dep`:
    /// `DIR/ns/pkg.wasm`, or `DIR/ns/pkg/VERSION.wasm` (wac's layout).
    #[arg(long, value_name = "DIR", default_value = "deps")]
    deps_dir: PathBuf,
    /// Where packages not found locally are pulled from: `ns:pkg@ver` is
    /// `HOST/NAMESPACE/ns/pkg:ver` (as wkg maps it). They are kept in
    /// `--store` (default: weld's cache), so a second run fetches nothing.
    #[arg(long, value_name = "HOST[/NAMESPACE]")]
    registry: Option<String>,
    #[command(flatten)]
    connection: super::registry::Connection,
    /// Write the WAC document of this composition (made from flags) instead
    /// of the component; `weld compose` composes it again.
    #[arg(long, conflicts_with_all = ["wat", "map", "target"])]
    print_wac: bool,
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
pub fn exec(mut args: Args) -> anyhow::Result<ExitCode> {
    // The WAC text is text: a terminal may have it.
    args.out.wat |= args.print_wac;
    args.out.check(&[("--map", args.map.as_deref())])?;
    if args.main.ends_with(".wac") {
        return exec_document(args);
    }
    if !args.deps.is_empty() || args.registry.is_some() {
        anyhow::bail!("--dep and --registry name the packages of a WAC document: `weld compose DOC.wac`");
    }
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
    if args.print_wac {
        for w in &composed.warnings {
            super::output::warn(w);
        }
        args.out.write_text(&weld_linker::print_wac(&composed, &inputs))?;
        return Ok(ExitCode::SUCCESS);
    }
    report(&args.out, args.map.as_deref(), &composed)
}

/// `weld compose DOC.wac`.
fn exec_document(args: Args) -> anyhow::Result<ExitCode> {
    let refused: Vec<&str> = [
        (!args.plugs.is_empty()).then_some("--plug"),
        (!args.exports.is_empty()).then_some("--export"),
        args.print_wac.then_some("--print-wac"),
    ]
    .into_iter()
    .flatten()
    .chain(args.resolve.wiring_flags())
    .collect();
    if !refused.is_empty() {
        anyhow::bail!(
            "{}: a WAC document wires its packages and lists its exports itself; {} do not apply",
            args.main,
            refused.join(", ")
        );
    }
    let source = std::fs::read_to_string(&args.main).map_err(|e| anyhow::anyhow!("{}: {e}", args.main))?;
    let mut deps = Vec::new();
    for d in &args.deps {
        match d.split_once('=') {
            Some((key, path)) if key.contains(':') && !path.is_empty() => {
                deps.push((key.to_string(), PathBuf::from(path)))
            }
            _ => anyhow::bail!("--dep {d}: expected NS:PKG[@VERSION]=PATH"),
        }
    }
    let store = args.resolve.store().map(PathBuf::from).or_else(|| {
        args.registry
            .as_ref()
            .and_then(|_| super::registry::cache_dir().map(|d| d.join("packages")))
    });
    let registry = match &args.registry {
        Some(base) => {
            let host = base.split('/').next().unwrap_or(base);
            Some(weld_linker::RegistrySource {
                registry: args.connection.for_host(host)?,
                base: base.clone(),
            })
        }
        None => None,
    };
    let sources = weld_linker::PackageSources {
        deps,
        deps_dir: Some(args.deps_dir.clone()),
        store,
        registry,
    };
    let target = match &args.target {
        Some(path) => Some(super::targets::load_world(path, args.target_world.as_deref())?),
        None => None,
    };
    let opts = ComposeOptions {
        validate: !args.no_validate,
        min_size: args.min_size,
        target,
        ..ComposeOptions::default()
    };
    let doc = weld_linker::compose_document(&opts, &args.main, &source, &sources)?;
    for p in &doc.packages {
        let fetched = if p.fetched > 0 {
            format!(" ({} blobs fetched)", p.fetched)
        } else {
            String::new()
        };
        super::output::detail(&format!("package {} from {}{fetched}", p.package, p.from));
    }
    report(&args.out, args.map.as_deref(), &doc.composed)
}

/// Warnings, notes, the output, the map.
fn report(
    out: &super::output::OutputArgs,
    map: Option<&std::path::Path>,
    composed: &weld_linker::Composed,
) -> anyhow::Result<ExitCode> {
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
    out.write(&composed.bytes)?;
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
    if let Some(map) = map {
        out.write_side(map, composed.map().to_json().as_bytes())?;
    }
    Ok(ExitCode::SUCCESS)
}

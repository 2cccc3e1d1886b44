//! `weld split`, `weld bundle` and `weld store`.

use std::path::PathBuf;
use std::process::ExitCode;

use weld_linker::OciDir;
use weld_linker::{bundle, bundle_app, BundleOptions};
use weld_linker::{split_apps, SplitOptions};

/// Arguments of `weld split`.
#[derive(clap::Args)]
pub struct SplitArgs {
    /// Components as `[name=]path`; several are split in parallel into one store.
    #[arg(required = true)]
    inputs: Vec<String>,
    /// The store: an OCI image layout directory (created if missing).
    #[arg(long)]
    store: PathBuf,
    /// The split root (one input only).
    #[arg(short, long, conflicts_with = "out_dir")]
    output: Option<PathBuf>,
    /// Write each split root as DIR/<name>.wasm.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
    /// Nested modules and components smaller than this stay inline.
    #[arg(long, default_value_t = 1024, value_name = "BYTES")]
    min_size: usize,
}

/// Runs `weld split`.
pub fn exec_split(args: SplitArgs) -> anyhow::Result<ExitCode> {
    let inputs = super::load(&args.inputs)?;
    let outputs: Vec<PathBuf> = match (&args.output, &args.out_dir) {
        (Some(o), None) if inputs.len() == 1 => vec![o.clone()],
        (Some(_), None) => anyhow::bail!("-o takes one input; use --out-dir DIR for several"),
        (None, Some(d)) => inputs
            .iter()
            .map(|i| d.join(format!("{}.wasm", i.name)))
            .collect(),
        _ => anyhow::bail!("give -o FILE or --out-dir DIR"),
    };
    let store = OciDir::open_or_create(&args.store)?;
    let opts = SplitOptions {
        min_size: args.min_size,
        created: created_time()?,
    };
    let splits = split_apps(&opts, &inputs, &store)?;
    for ((input, out), r) in inputs.iter().zip(&outputs).zip(&splits) {
        for w in &r.warnings {
            super::output::warn(w);
        }
        if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        weld_format::write::write_atomic(out, &r.root)?;
        outln!(
            "{}: {} -> {} bytes; {} children replaced ({} distinct, {} new in the store)",
            input.name,
            input.bytes().len(),
            r.root.len(),
            r.children.len(),
            r.layers().len(),
            r.new_children()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The `created` time of the manifest of an app made from `path`:
/// `SOURCE_DATE_EPOCH` when set, else the file's modification time (so
/// pushing the same file twice gives the same manifest), else now.
pub fn created_time_of(path: Option<&std::path::Path>) -> anyhow::Result<std::time::SystemTime> {
    if std::env::var_os("SOURCE_DATE_EPOCH").is_none() {
        if let Some(t) = path
            .and_then(|p| std::fs::metadata(p).ok())
            .and_then(|m| m.modified().ok())
        {
            return Ok(t);
        }
    }
    created_time()
}

/// The `created` time of new manifests: `SOURCE_DATE_EPOCH` (seconds since
/// 1970, the reproducible-builds convention) when set, else now.
pub fn created_time() -> anyhow::Result<std::time::SystemTime> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) => {
            let secs: u64 = v
                .trim()
                .parse()
                .map_err(|_| anyhow::anyhow!("SOURCE_DATE_EPOCH=`{v}` is not a number of seconds"))?;
            // RFC 3339 ends at year 9999.
            const LAST: u64 = 253_402_300_799;
            if secs > LAST {
                anyhow::bail!("SOURCE_DATE_EPOCH=`{v}` is past the year 9999");
            }
            Ok(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
        }
        Err(_) => Ok(std::time::SystemTime::now()),
    }
}

/// An OCI layout reference as skopeo writes it: `oci:DIR[:NAME]`.
pub fn parse_oci_ref(s: &str) -> Option<(PathBuf, Option<String>)> {
    // As containers/image reads it: the path ends at the first `:`.
    let rest = s.strip_prefix("oci:")?;
    match rest.split_once(':') {
        Some((dir, name)) if !name.is_empty() => Some((PathBuf::from(dir), Some(name.to_string()))),
        _ => Some((PathBuf::from(rest), None)),
    }
}

/// The app `name` of `store`, or its only app when no name is given.
pub fn app_name(store: &OciDir, name: Option<String>) -> anyhow::Result<String> {
    if let Some(n) = name {
        return Ok(n);
    }
    let tags = store.tags()?;
    match tags.as_slice() {
        [one] => Ok(one.name.clone()),
        [] => anyhow::bail!("store {}: holds no app", store.location()),
        _ => anyhow::bail!(
            "store {} holds {} apps ({}): name one, as oci:DIR:NAME",
            store.location(),
            tags.len(),
            tags.iter()
                .map(|t| t.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Arguments of `weld bundle`.
#[derive(clap::Args)]
pub struct BundleArgs {
    /// A split root as `[name=]path` (with `--store`), or an app of an OCI
    /// layout as `oci:DIR[:NAME]` (its `layers[0]` is the root).
    input: String,
    /// The store holding the root's children (for a root file).
    #[arg(long)]
    store: Option<PathBuf>,
    #[command(flatten)]
    out: super::output::OutputArgs,
    /// Skip validating function bodies of the output (types are always checked).
    #[arg(long)]
    no_validate: bool,
}

/// Runs `weld bundle`.
pub fn exec_bundle(args: BundleArgs) -> anyhow::Result<ExitCode> {
    args.out.check(&[])?;
    let opts = BundleOptions {
        validate: !args.no_validate,
    };
    if let Some((dir, name)) = parse_oci_ref(&args.input) {
        if args.store.is_some() {
            anyhow::bail!("--store is for a root file; oci:DIR:NAME names its store itself");
        }
        let store = OciDir::open(&dir)?;
        let name = app_name(&store, name)?;
        let out = bundle_app(&opts, &store, &name)?;
        args.out.write(&out.bytes)?;
        args.out.info(&format!(
            "{name}: {} bytes; {} blobs inlined",
            out.bytes.len(),
            out.inlined.len()
        ))?;
        return Ok(ExitCode::SUCCESS);
    }
    let Some(store) = &args.store else {
        anyhow::bail!(
            "give --store DIR for the root file {}, or name an app as oci:DIR:NAME",
            args.input
        );
    };
    let inputs = super::load(std::slice::from_ref(&args.input))?;
    let input = inputs.iter().next().expect("one input");
    let store = OciDir::open(store)?;
    let out = bundle(&opts, &input.display, input.bytes(), &store)?;
    args.out.write(&out.bytes)?;
    args.out.info(&format!(
        "{}: {} -> {} bytes; {} blobs inlined",
        input.name,
        input.bytes().len(),
        out.bytes.len(),
        out.inlined.len()
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// `weld store` subcommands.
#[derive(clap::Subcommand)]
pub enum StoreCommand {
    /// List the blobs with their sizes and the apps that use them.
    Ls {
        /// The store.
        dir: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Re-hash every blob; report corruption and missing blobs (exit 1 if any).
    Verify {
        /// The store.
        dir: PathBuf,
    },
}

/// Runs `weld store ...`.
pub fn exec_store(cmd: StoreCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        StoreCommand::Ls { dir, json } => {
            let store = OciDir::open(&dir)?;
            let blobs = store.list()?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&blobs)?);
            } else {
                let total: u64 = blobs.iter().map(|b| b.size).sum();
                for b in &blobs {
                    let users = if b.used_by.is_empty() {
                        "(unused)".to_string()
                    } else {
                        b.used_by.join(", ")
                    };
                    outln!("{} {:>10}  {users}", b.digest, b.size);
                }
                outln!("{} blobs, {total} bytes", blobs.len());
            }
            Ok(ExitCode::SUCCESS)
        }
        StoreCommand::Verify { dir } => {
            let store = OciDir::open(&dir)?;
            let problems = store.verify()?;
            for p in &problems {
                eprintln!("weld: error: {p}");
            }
            if problems.is_empty() {
                outln!("{}: every blob matches its digest", dir.display());
                Ok(ExitCode::SUCCESS)
            } else {
                Ok(ExitCode::from(1))
            }
        }
    }
}

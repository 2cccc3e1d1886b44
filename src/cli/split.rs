//! `weld split`, `weld bundle` and `weld store`.

use std::path::PathBuf;
use std::process::ExitCode;

use weld_linker::OciDir;
use weld_linker::{bundle, BundleOptions};
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
    };
    let splits = split_apps(&opts, &inputs, &store)?;
    for ((input, out), r) in inputs.iter().zip(&outputs).zip(&splits) {
        for w in &r.warnings {
            eprintln!("weld: warning: {w}");
        }
        if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        weld_linker::write_atomic(out, &r.root)?;
        println!(
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

/// Arguments of `weld bundle`.
#[derive(clap::Args)]
pub struct BundleArgs {
    /// A split root, as `[name=]path`.
    input: String,
    /// The store holding its children.
    #[arg(long)]
    store: PathBuf,
    /// The bundled component.
    #[arg(short, long)]
    output: PathBuf,
    /// Skip validating function bodies of the output (types are always checked).
    #[arg(long)]
    no_validate: bool,
}

/// Runs `weld bundle`.
pub fn exec_bundle(args: BundleArgs) -> anyhow::Result<ExitCode> {
    let inputs = super::load(std::slice::from_ref(&args.input))?;
    let input = inputs.iter().next().expect("one input");
    let store = OciDir::open(&args.store)?;
    let opts = BundleOptions {
        validate: !args.no_validate,
    };
    let out = bundle(&opts, &input.display, input.bytes(), &store)?;
    weld_linker::write_atomic(&args.output, &out.bytes)?;
    println!(
        "{}: {} -> {} bytes; {} blobs inlined",
        input.name,
        input.bytes().len(),
        out.bytes.len(),
        out.inlined.len()
    );
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
                println!("{}", serde_json::to_string_pretty(&blobs)?);
            } else {
                let total: u64 = blobs.iter().map(|b| b.size).sum();
                for b in &blobs {
                    let users = if b.used_by.is_empty() {
                        "(unused)".to_string()
                    } else {
                        b.used_by.join(", ")
                    };
                    println!("{} {:>10}  {users}", b.digest, b.size);
                }
                println!("{} blobs, {total} bytes", blobs.len());
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
                println!("{}: every blob matches its digest", dir.display());
                Ok(ExitCode::SUCCESS)
            } else {
                Ok(ExitCode::from(1))
            }
        }
    }
}

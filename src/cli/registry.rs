//! `weld push` and `weld pull`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use weld_format::names::oci_digest;
use weld_linker::{
    credentials_for, parse_reference, store_app, AppOptions, BlobLocations, BlobStore, BundleOptions,
    MemoryStore, OciDir, PullOptions, PushOptions, Reference, Registry, RegistryOptions, RetryPolicy,
    SplitOptions, Transfer,
};

use super::split::{app_name, created_time_of, parse_oci_ref};

/// How to reach the registry: shared by push, pull and compose.
#[derive(clap::Args)]
pub struct Connection {
    /// Speak plain HTTP to this registry host (`host` or `host:port`);
    /// every other host is HTTPS only (repeatable).
    #[arg(long, value_name = "HOST")]
    insecure: Vec<String>,
    /// Blobs transferred at once.
    #[arg(long, default_value_t = 4)]
    jobs: usize,
    /// Seconds to wait for a byte of a registry's answer before the request
    /// counts as failed (and is retried).
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    timeout: u64,
    /// Attempts per request that fails in a way that may pass (network,
    /// 5xx, 408, 429, a body cut short or served wrong); 1: no retry.
    #[arg(long, value_name = "N", default_value_t = 6)]
    attempts: u32,
}

impl Connection {
    fn registry(&self, reference: &Reference) -> anyhow::Result<Registry> {
        self.for_host(reference.registry())
    }

    /// A client for `host` (`host[:port]`), with its credentials.
    pub fn for_host(&self, host: &str) -> anyhow::Result<Registry> {
        let host = host.to_string();
        let creds = credentials_for(&host).map_err(|e| anyhow::anyhow!("credentials for {host}: {e}"))?;
        Ok(Registry::new(RegistryOptions {
            insecure: self.insecure.clone(),
            credentials: vec![(host, creds)],
            jobs: self.jobs,
            retry: RetryPolicy {
                attempts: self.attempts.max(1),
                ..RetryPolicy::default()
            },
            read_timeout: Some(std::time::Duration::from_secs(self.timeout.max(1))),
        })?)
    }
}

/// The file of the blob-location cache (which repositories hold which
/// blobs, for cross-repository mounts): `$WELD_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/weld`, else `~/.cache/weld`, then `blob-locations.json`.
fn locations_file() -> Option<PathBuf> {
    Some(cache_dir()?.join("blob-locations.json"))
}

/// weld's cache directory: `$WELD_CACHE_DIR`, else `$XDG_CACHE_HOME/weld`,
/// else `~/.cache/weld`.
pub fn cache_dir() -> Option<PathBuf> {
    Some(if let Some(d) = std::env::var_os("WELD_CACHE_DIR") {
        PathBuf::from(d)
    } else if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        PathBuf::from(d).join("weld")
    } else {
        PathBuf::from(std::env::var_os("HOME")?).join(".cache/weld")
    })
}

/// Arguments of `weld push`.
#[derive(clap::Args)]
pub struct PushArgs {
    /// What to push: a component (split first), a core module, or an app of
    /// a store as `DIR:NAME` or `oci:DIR:NAME`.
    source: String,
    /// Where: `host[:port]/repository[:tag|@digest]`.
    reference: String,
    /// Keep the split in this store (default: in memory only).
    #[arg(long, value_name = "DIR")]
    store: Option<PathBuf>,
    /// Push the component as one layer, unsplit, as wkg publishes it.
    #[arg(long)]
    bundled: bool,
    /// Nested modules and components smaller than this stay inline.
    #[arg(long, default_value_t = 1024, value_name = "BYTES")]
    min_size: usize,
    #[command(flatten)]
    connection: Connection,
}

/// Runs `weld push`.
pub fn exec_push(args: PushArgs) -> anyhow::Result<ExitCode> {
    let target = parse_reference(&args.reference)?;
    let app = target
        .repository()
        .rsplit('/')
        .next()
        .unwrap_or("app")
        .to_string();
    // The app, in a store: an existing one, or one made now.
    let (store, manifest): (Box<dyn BlobStore>, _) = match source_store(&args.source)? {
        Some((dir, name)) => {
            if args.bundled {
                anyhow::bail!("--bundled takes a component file, not an app of a store");
            }
            let store = OciDir::open(&dir)?;
            let name = app_name(&store, name)?;
            let tag = store
                .tagged(&name)?
                .ok_or_else(|| anyhow::anyhow!("store {}: no app `{name}`", dir.display()))?;
            (Box::new(store), tag.manifest)
        }
        None => {
            let inputs = super::load(std::slice::from_ref(&args.source))?;
            let input = inputs.iter().next().expect("one input");
            let store: Box<dyn BlobStore> = match &args.store {
                Some(d) => Box::new(OciDir::open_or_create(d)?),
                None => Box::new(MemoryStore::new()),
            };
            let opts = AppOptions {
                name: app.clone(),
                bundled: args.bundled,
                split: SplitOptions {
                    min_size: args.min_size,
                    created: created_time_of(input.path.as_deref())?,
                },
            };
            let stored = store_app(&opts, &input.display, input.bytes(), store.as_ref())?;
            for w in &stored.warnings {
                super::output::warn(w);
            }
            (store, stored.manifest)
        }
    };
    let registry = args.connection.registry(&target)?;
    let cache = locations_file();
    let mut locations = cache.as_deref().map(BlobLocations::load).unwrap_or_default();
    let progress: Option<Arc<weld_linker::ProgressFn>> = if std::io::stderr().is_terminal() {
        Some(Arc::new(progress_line()))
    } else {
        None
    };
    let opts = PushOptions {
        locations: locations.clone(),
        progress: progress.clone(),
    };
    let report = weld_linker::push(&opts, &registry, &target, store.as_ref(), &manifest)?;
    if progress.is_some() {
        eprint!("\r\x1b[K");
    }
    for b in &report.blobs {
        locations.record(target.registry(), target.repository(), &b.digest);
    }
    if let Some(path) = &cache {
        // Only a hint for later mounts: a failure to save it is not fatal.
        if let Err(e) = locations.save(path) {
            super::output::warn(format!("blob-location cache not saved: {e}"));
        }
    }
    let (up_n, up_b) = report.total(|t| *t == Transfer::Uploaded);
    let (mo_n, mo_b) = report.total(|t| matches!(t, Transfer::Mounted { .. }));
    let (sk_n, sk_b) = report.total(|t| *t == Transfer::Present);
    eprintln!(
        "weld: pushed {} ({}): uploaded {up_n} blobs ({up_b} bytes) and the manifest ({} bytes); mounted {mo_n} ({mo_b} bytes); skipped {sk_n} already there ({sk_b} bytes)",
        target.whole(),
        oci_digest(&report.manifest),
        report.manifest_size
    );
    outln!(
        "{}@{}",
        target.whole().split('@').next().unwrap_or(""),
        oci_digest(&report.manifest)
    );
    Ok(ExitCode::SUCCESS)
}

/// `DIR:NAME` or `oci:DIR[:NAME]` naming an app of an existing store.
fn source_store(s: &str) -> anyhow::Result<Option<(PathBuf, Option<String>)>> {
    if let Some(r) = parse_oci_ref(s) {
        return Ok(Some(r));
    }
    if Path::new(s).exists() {
        return Ok(None);
    }
    match s.rsplit_once(':') {
        Some((dir, name)) if Path::new(dir).join("oci-layout").exists() => {
            Ok(Some((PathBuf::from(dir), Some(name.to_string()))))
        }
        _ => Ok(None),
    }
}

/// A progress line on stderr, redrawn at most once per percent.
fn progress_line() -> impl Fn(u64, u64) + Send + Sync {
    let last = std::sync::atomic::AtomicU64::new(u64::MAX);
    move |done, total| {
        if total < (1 << 20) {
            return;
        }
        let pct = done * 100 / total.max(1);
        if last.swap(pct, std::sync::atomic::Ordering::Relaxed) != pct {
            eprint!(
                "\r\x1b[Kweld: uploading {:.1} of {:.1} MiB ({pct}%)",
                done as f64 / 1048576.0,
                total as f64 / 1048576.0
            );
        }
    }
}

/// Arguments of `weld pull`.
#[derive(clap::Args)]
pub struct PullArgs {
    /// What to pull: `host[:port]/repository[:tag|@digest]`, or an app of
    /// an OCI layout as `oci:DIR[:NAME]`.
    reference: String,
    #[command(flatten)]
    out: super::output::OutputArgs,
    /// Keep the blobs in this store; blobs it has are not fetched again.
    #[arg(long, value_name = "DIR")]
    store: Option<PathBuf>,
    /// Write the root as it is and keep its children in `--store`.
    #[arg(long, requires = "store")]
    split: bool,
    /// The app's name in the store (default: the repository's last part).
    #[arg(long)]
    name: Option<String>,
    #[command(flatten)]
    connection: Connection,
}

/// Runs `weld pull`.
pub fn exec_pull(args: PullArgs) -> anyhow::Result<ExitCode> {
    args.out.check(&[])?;
    let opts = BundleOptions::default();
    if let Some((dir, name)) = parse_oci_ref(&args.reference) {
        let store = OciDir::open(&dir)?;
        let name = app_name(&store, name)?;
        let (tag, _) = weld_linker::open_app(&store, &name)?;
        return finish(&args, &store, &name, &tag.manifest, &opts);
    }
    let source = parse_reference(&args.reference)?;
    let name = args.name.clone().unwrap_or_else(|| {
        source
            .repository()
            .rsplit('/')
            .next()
            .unwrap_or("app")
            .to_string()
    });
    let store: Box<dyn BlobStore> = match &args.store {
        Some(d) => Box::new(OciDir::open_or_create(d)?),
        None => Box::new(MemoryStore::new()),
    };
    let registry = args.connection.registry(&source)?;
    let report = weld_linker::pull(
        &PullOptions { name: name.clone() },
        &registry,
        &source,
        store.as_ref(),
    )?;
    if let Some(path) = locations_file() {
        let mut locations = BlobLocations::load(&path);
        for l in report.app.blobs() {
            locations.record(source.registry(), source.repository(), &l.digest);
        }
        if let Err(e) = locations.save(&path) {
            super::output::warn(format!("blob-location cache not saved: {e}"));
        }
    }
    let fetched: u64 = report.fetched.iter().map(|(_, s)| s).sum();
    let cached: u64 = report.cached.iter().map(|(_, s)| s).sum();
    eprintln!(
        "weld: pulled {} ({}): fetched {} blobs ({fetched} bytes); {} already in the store ({cached} bytes)",
        source.whole(),
        oci_digest(&report.tag.manifest),
        report.fetched.len(),
        report.cached.len()
    );
    // The manifest this pull wrote, by digest: another pull into the same
    // store may have retagged `name` since.
    finish(&args, store.as_ref(), &name, &report.tag.manifest, &opts)
}

/// Writes the pulled app: bundled, or (`--split`) its root.
fn finish(
    args: &PullArgs,
    store: &dyn BlobStore,
    name: &str,
    manifest: &weld_linker::Digest,
    opts: &BundleOptions,
) -> anyhow::Result<ExitCode> {
    if args.split {
        let m = weld_linker::open_manifest(store, name, manifest)?;
        let root = m
            .root()
            .ok_or_else(|| anyhow::anyhow!("app `{name}`: its first layer is not application/wasm"))?;
        let bytes = store.get(&root.digest)?;
        args.out.write(&bytes)?;
        args.out.info(&format!(
            "{name}: root {} bytes; {} layers in the store",
            bytes.len(),
            m.layers.len()
        ))?;
    } else {
        let out = weld_linker::bundle_manifest(opts, store, name, manifest)?;
        args.out.write(&out.bytes)?;
        args.out.info(&format!(
            "{name}: {} bytes; {} blobs inlined",
            out.bytes.len(),
            out.inlined.len()
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}
